-- A CRL's DER is stored as it is, out of line, without compression: pglz
-- spent a third of a second trying to compress each 49 MB million-entry
-- CRL (two thirds of storing it), for a row that is written once and read
-- whole.
ALTER TABLE crls ALTER COLUMN crl_der SET STORAGE EXTERNAL;
