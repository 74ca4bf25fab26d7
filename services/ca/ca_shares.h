/*  ca_shares: k-of-n splitting of the key store secret with libgfshare.

    A share is the libgfshare share bytes (as long as the secret) with an x
    coordinate from 1 to 255. Written to a file, it is exactly what gfsplit
    writes: STEM.NNN (NNN the x coordinate in three decimal digits) holding
    the raw bytes, so Debian's gfcombine rebuilds the secret from any k of
    the files, independently of tessera.

    Each share is identified by the SHA-256 of (x coordinate, share bytes);
    the CA keeps those digests per ceremony, never the shares, so it tells a
    share of another ceremony or a corrupted share from a good one.

    libgfshare takes its randomness from a process-wide hook; this module
    points it at the OpenSSL CSPRNG (aborting if that ever fails) and is the
    only code that may touch it: split and combine refuse to run if it was
    replaced.
    Errors are short lower-case messages in err; they may name a file, never
    hold secret or share bytes.
*/
#ifndef CA_SHARES_H
#define CA_SHARES_H

#include <stddef.h>
#include <stdint.h>

#define CA_SHARES_MAX 16
#define CA_SECRET_MAX 64

typedef struct {
    uint8_t x;                          //  1..255
    uint8_t bytes [CA_SECRET_MAX];
    size_t size;                        //  the secret's size
} ca_share_t;

//  Splits secret (size bytes, 1..CA_SECRET_MAX) into count shares
//  (threshold..CA_SHARES_MAX) with x = 1..count, randomness from the
//  OpenSSL CSPRNG. threshold is at least 2: RGS ** wants two people to open
//  the key. shares holds count elements. Returns 0, or -1 with err.
int ca_shares_split (const uint8_t *secret, size_t size, unsigned threshold, unsigned count,
                     ca_share_t *shares, char *err, size_t err_size);

//  Rebuilds the secret from count shares (2..CA_SHARES_MAX, distinct x from
//  1 to 255, same size) into secret (at least CA_SECRET_MAX bytes); sets
//  *size. Returns 0, or -1 with err (and *size 0).
//  With fewer than the threshold, the result is garbage: the caller checks
//  the secret (the key store refuses it). The caller wipes the secret.
int ca_shares_combine (const ca_share_t *shares, unsigned count, uint8_t *secret,
                       size_t *size, char *err, size_t err_size);

//  Lower-case hex SHA-256 of the byte x followed by the share bytes (size
//  of them). An invalid share (NULL, size 0 or over CA_SECRET_MAX) gives
//  the empty string, which matches no stored digest.
void ca_shares_digest (const ca_share_t *share, char digest_hex [65]);

//  Writes share to "<stem>.NNN" (mode 0600, refusing to overwrite, synced
//  to disk); the path written goes to path. On failure nothing is left
//  behind (a partly written file is removed). Returns 0 or -1 with err.
int ca_shares_write_file (const ca_share_t *share, const char *stem, char *path,
                          size_t path_size, char *err, size_t err_size);
//  Reads a share file; x comes from the name's .NNN extension (001..255).
//  Refuses a name without one, anything but a regular file, a file over
//  CA_SECRET_MAX bytes, an empty one, or one that changes while read. On
//  failure share is wiped. Returns 0 or -1 with err.
int ca_shares_read_file (const char *path, ca_share_t *share, char *err, size_t err_size);

//  Wipes a share (OPENSSL_cleanse).
void ca_share_wipe (ca_share_t *share);

#endif
