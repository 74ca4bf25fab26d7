"""A private pcscd with the vpcd reader, and virtual PIV cards in it, for
integration tests.

Each Pcsc runs its own pcscd: its own client socket (handed to pcscd by
socket activation, so it never touches /run/pcscd/pcscd.comm) and its own
vpcd port (claimed with a lock file under /tmp/tessera-vpcd/), so test files
run in parallel (ctest -j) without meeting. PC/SC clients reach it through
the PCSCLITE_CSOCK_NAME environment variable, which Debian's libpcsclite
honours: `Pcsc.start()` exports it into os.environ (so child processes and
this process's pyscard use this pcscd) and `Pcsc.env()` returns it for
subprocess calls.

    from pcsc import CardSession, Pcsc, VirtualCard, mutual_auth

    pcsc = Pcsc(tmp_dir).start()
    card = VirtualCard(pcsc, tmp_dir / "card.state")
    info = card.init()              # transport state: PIN 123456, PUK 12345678
    card.insert()                   # returns once pcscd sees the card
    subprocess.run(["opensc-tool", "-a"], env=pcsc.env(), check=True)
    card.remove()                   # the card leaves the reader
    card.insert(faults=["drop-after=5"])
    ...
    pcsc.stop()

libpcsclite reads PCSCLITE_CSOCK_NAME once per process, so in-process
clients (pyscard, CardSession) can use one Pcsc per Python process; child
processes can use any number.
"""
import fcntl
import gc
import json
import os
import secrets
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

BUILD = Path(os.environ.get("TSR_BUILD_DIR", "build")).resolve()
VCARD = BUILD / "tools" / "vcard" / "tessera-vcard"
VPCD_DRIVER = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
READER_NAME = "Virtual PCD 00 00"
PIV_AID = bytes.fromhex("A000000308000010000100")

# vpcd ports are taken below Linux's ephemeral range and above the ranges
# tsrtest.claim_port_base hands out (10000..30107).
_PORT_FIRST = 31000
_PORT_SLOTS = 800               # even ports 31000..32598; vpcd may open port+1 too

_in_process_socket = None       # the socket this process's libpcsclite is bound to


class PcscError(RuntimeError):
    pass


def _port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
            return True
        except OSError:
            return False


def _listening(port):
    """True when something listens on TCP `port` (read from /proc, so the
    check itself never connects: a connection to vpcd is a card)."""
    want = f":{port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[1].endswith(want) and fields[3] == "0A":
                        return True
        except OSError:
            continue
    return False


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise PcscError(f"timed out waiting for {what}")


class Pcsc:
    """One private pcscd with one vpcd reader ("Virtual PCD 00 00").

    root_dir: a folder for its socket, configuration and log (pcscd.log,
    with APDUs, as pcscd --debug --apdu writes them).
    Attributes once started: socket_path, vpcd_port, reader_name, log_path.
    """

    def __init__(self, root_dir, debug=True):
        self.root = Path(root_dir) / "pcscd"
        self.debug = debug
        self.socket_path = self.root / "pcscd.comm"
        self.log_path = self.root / "pcscd.log"
        self.reader_name = READER_NAME
        self.vpcd_port = None
        self._lock = None
        self._listener = None
        self._process = None

    # -- life -------------------------------------------------------------
    def start(self, timeout=15):
        """Starts pcscd and returns self once its vpcd reader listens."""
        self.root.mkdir(parents=True, exist_ok=True)
        if self.vpcd_port is None:
            self.vpcd_port, self._lock = self._claim_port()
        conf = self.root / "reader.conf.d"
        conf.mkdir(exist_ok=True)
        (conf / "vpcd").write_text(
            'FRIENDLYNAME "Virtual PCD"\n'
            f"DEVICENAME   /dev/null:0x{self.vpcd_port:04X}\n"
            f"LIBPATH      {VPCD_DRIVER}\n"
            f"CHANNELID    0x{self.vpcd_port:04X}\n")
        # Socket activation (as systemd does it): we bind the client socket
        # and pass it as fd 3 with LISTEN_FDS=1 and LISTEN_PID = pcscd's pid
        # (the shell's $$, kept across exec).
        if self.socket_path.exists():
            self.socket_path.unlink()
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(self.socket_path))
        self._listener.listen(64)
        os.chmod(self.socket_path, 0o777)
        fd = self._listener.fileno()
        args = "-f -a -d" if self.debug else "-f"
        # The shell only sets LISTEN_PID to its own pid ($$), which pcscd
        # keeps through exec; the socket is moved to fd 3 before that.
        script = f'LISTEN_PID=$$ LISTEN_FDS=1 exec pcscd {args} -c "$0"'
        log = open(self.log_path, "ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith("LISTEN_")}
        self._process = subprocess.Popen(["sh", "-c", script, str(conf)], pass_fds=[3],
                                         preexec_fn=lambda: os.dup2(fd, 3),
                                         stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        try:
            _wait(lambda: self._process.poll() is not None or _listening(self.vpcd_port),
                  timeout, "pcscd's vpcd reader")
            if self._process.poll() is not None:
                raise PcscError(f"pcscd exited with {self._process.returncode}; see {self.log_path}")
        except BaseException:
            self.stop()
            raise
        os.environ["PCSCLITE_CSOCK_NAME"] = str(self.socket_path)
        return self

    def stop(self):
        """Stops pcscd (SIGTERM, then SIGKILL) and releases the port."""
        gc.collect()        # pyscard releases its PC/SC contexts while pcscd still answers
        if self._process is not None:
            if self._process.poll() is None:
                self._process.terminate()
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
            self._process = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
            try:
                self.socket_path.unlink()
            except FileNotFoundError:
                pass
        if self._lock is not None:
            self._lock.close()
            self._lock = None
            self.vpcd_port = None

    def restart(self, timeout=15):
        """Stops and starts pcscd on the same socket and port (cards that
        were inserted reconnect by themselves, as cards stay in a reader)."""
        lock, port = self._lock, self.vpcd_port
        self._lock = None               # keep the port claimed across the stop
        self.stop()
        self._lock, self.vpcd_port = lock, port
        return self.start(timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- clients ----------------------------------------------------------
    def env(self, base=None):
        """An environment for a PC/SC client process (opensc-tool,
        pkcs11-tool, yubico-piv-tool, a tessera service) using this pcscd."""
        env = dict(os.environ if base is None else base)
        env["PCSCLITE_CSOCK_NAME"] = str(self.socket_path)
        return env

    def card_present(self):
        """True when pcscd reports a card in the reader (asked through
        OpenSC's opensc-tool, an independent client)."""
        out = subprocess.run(["opensc-tool", "--list-readers"], env=self.env(),
                             capture_output=True, text=True, timeout=30).stdout
        for line in out.splitlines():
            if self.reader_name in line:
                return line.split()[1] == "Yes"
        return False

    def wait_card(self, present=True, timeout=15):
        _wait(lambda: self.card_present() == present, timeout,
              "the card" if present else "the card's removal")

    def _claim_port(self):
        lock_dir = Path(tempfile.gettempdir()) / "tessera-vpcd"
        lock_dir.mkdir(exist_ok=True)
        for _ in range(400):
            port = _PORT_FIRST + 2 * secrets.randbelow(_PORT_SLOTS)
            lock = open(lock_dir / f"{port}.lock", "w")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                lock.close()
                continue
            if _port_free(port) and _port_free(port + 1):
                return port, lock
            lock.close()
        raise PcscError("no free vpcd port")


class VirtualCard:
    """A tessera-vcard process: the virtual PIV card in a Pcsc's reader.

    state_file holds the card (keys, objects, PIN/PUK and counters,
    management key); it outlives the process, so remove() then insert() is
    pulling the card and putting it back. The card's JSON log lines go to
    <state_file>.log (APDUs at debug level, with their index for faults).
    """

    def __init__(self, pcsc, state_file, binary=None):
        self.pcsc = pcsc
        self.state_file = Path(state_file)
        self.binary = Path(binary) if binary else VCARD
        self.log_path = Path(f"{self.state_file}.log")
        self.process = None

    def init(self):
        """Formats the card (transport state) and returns show()'s dict."""
        return self._run_show(["--init"])

    def show(self):
        """The card's identity and contents, read from its state file:
        {"guid": hex, "serial": int, "pin_tries_left", "puk_tries_left",
        "mgmt_alg": "3des"|"aes128"|..., "keys": {"9a": "eccp256", ...},
        "objects": ["5fc102", ...]}."""
        return self._run_show([])

    def _run_show(self, extra):
        out = subprocess.run([str(self.binary), "--state", str(self.state_file), "--show",
                              *extra], capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise PcscError(f"tessera-vcard --show failed: {out.stderr.strip()}")
        return json.loads(out.stdout)

    def insert(self, faults=(), wait=True, timeout=15, log_level="debug"):
        """Starts the card process (with --fault SPEC for each of faults,
        e.g. "drop-after=7") and, with wait, returns once pcscd sees the card."""
        if self.process is not None and self.process.poll() is None:
            raise PcscError("the card is already inserted")
        args = [str(self.binary), "--state", str(self.state_file), "--host", "127.0.0.1",
                "--port", str(self.pcsc.vpcd_port), "--log-level", log_level]
        for fault in faults:
            args += ["--fault", fault]
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log)
        log.close()
        if wait:
            try:
                self.pcsc.wait_card(True, timeout)
            except PcscError:
                self.remove(wait=False)
                raise
        return self

    def remove(self, wait=True, timeout=15):
        """Takes the card out: SIGTERM to the process (it exits 0). Returns
        the exit status (None if it was not running)."""
        status = None
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            status = self.process.returncode
            self.process = None
        if wait and self.pcsc.vpcd_port is not None:
            self.pcsc.wait_card(False, timeout)
        return status

    def pull(self):
        """Takes the card out abruptly (SIGKILL), as a hand pulling it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def running(self):
        return self.process is not None and self.process.poll() is None

    def log_events(self):
        """The card's log lines, parsed (dicts with "event", ...)."""
        events = []
        if self.log_path.exists():
            for line in self.log_path.read_text().splitlines():
                try:
                    events.append(json.loads(line))
                except ValueError:
                    pass
        return events

    def apdu_count(self):
        """How many APDUs the card has answered so far (debug log level)."""
        return sum(1 for e in self.log_events() if e.get("event") == "vcard.apdu")


class CardSession:
    """A raw APDU connection through this process's libpcsclite (pyscard,
    Debian's python3-pyscard), for tests that speak to the card directly.

        with CardSession(pcsc) as s:
            data, sw = s.transmit("00A4040009A00000030800001000")
            s.select_piv()

    transmit() returns (bytes, sw as int) and does not follow 61 xx; use
    transmit_all() for that. The session uses SCARD_SHARE_SHARED and, on
    close, leaves the card powered with its security state (as OpenSC does);
    reset() is a warm reset, which ends the card's session (PIN and
    management-key authentication forgotten)."""

    def __init__(self, pcsc):
        global _in_process_socket
        if _in_process_socket not in (None, str(pcsc.socket_path)):
            raise PcscError("this process's libpcsclite already talks to another pcscd")
        _in_process_socket = str(pcsc.socket_path)
        os.environ["PCSCLITE_CSOCK_NAME"] = str(pcsc.socket_path)
        self.pcsc = pcsc
        self.connection = None

    def __enter__(self):
        return self.connect()

    def __exit__(self, *exc):
        self.close()

    def connect(self):
        from smartcard.System import readers
        from smartcard.CardConnection import CardConnection
        from smartcard.scard import SCARD_LEAVE_CARD
        matching = [r for r in readers() if str(r).startswith(self.pcsc.reader_name)]
        if not matching:
            raise PcscError("no virtual reader")
        self.connection = matching[0].createConnection()
        self.connection.connect(CardConnection.T1_protocol, disposition=SCARD_LEAVE_CARD)
        return self

    def reset(self):
        """Warm reset of the card through pcscd (SCardReconnect with
        SCARD_RESET_CARD)."""
        from smartcard.scard import SCARD_LEAVE_CARD, SCARD_RESET_CARD
        self.connection.reconnect(disposition=SCARD_RESET_CARD)
        self.connection.disposition = SCARD_LEAVE_CARD

    def close(self):
        if self.connection is not None:
            try:
                self.connection.disconnect()
            except Exception:
                pass
            self.connection = None

    def transmit(self, apdu):
        if isinstance(apdu, str):
            apdu = bytes.fromhex(apdu.replace(" ", ""))
        data, sw1, sw2 = self.connection.transmit(list(apdu))
        return bytes(data), (sw1 << 8) | sw2

    def transmit_all(self, apdu):
        """transmit() then GET RESPONSE while the card answers 61 xx."""
        data, sw = self.transmit(apdu)
        while sw >> 8 == 0x61:
            more, sw = self.transmit(bytes([0x00, 0xC0, 0x00, 0x00, sw & 0xFF]))
            data += more
        return data, sw

    def select_piv(self):
        data, sw = self.transmit(bytes([0x00, 0xA4, 0x04, 0x00, len(PIV_AID)]) + PIV_AID)
        if sw != 0x9000:
            raise PcscError(f"SELECT PIV answered {sw:04X}")
        return data


def mutual_auth(session, alg, key):
    """Card-management-key mutual authentication (SP 800-73-4, GENERAL
    AUTHENTICATE with key reference 9B), host side, over a CardSession.
    alg: 0x03 (3DES, 24-byte key) or 0x08/0x0A/0x0C (AES-128/192/256).
    Returns the status word of the step that ended it: 0x9000 when the card
    accepted the key (and its answer to our challenge was checked), 0x6A86
    when the card's key is of another algorithm, 0x6982 for a wrong key.
    Uses python3-cryptography for the block cipher."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    block = 8 if alg == 0x03 else 16
    algorithm = algorithms.TripleDES(key) if alg == 0x03 else algorithms.AES(key)
    data, sw = session.transmit(bytes([0x00, 0x87, alg, 0x9B, 0x04, 0x7C, 0x02, 0x80, 0x00]))
    if sw != 0x9000:
        return sw
    if data[:4] != bytes([0x7C, block + 2, 0x80, block]) or len(data) != 4 + block:
        raise PcscError(f"malformed witness from the card: {data.hex()}")
    decryptor = Cipher(algorithm, modes.ECB()).decryptor()
    witness = decryptor.update(data[4:]) + decryptor.finalize()
    challenge = os.urandom(block)
    body = bytes([0x80, block]) + witness + bytes([0x81, block]) + challenge
    data, sw = session.transmit(bytes([0x00, 0x87, alg, 0x9B, len(body) + 2, 0x7C, len(body)]) + body)
    if sw != 0x9000:
        return sw
    encryptor = Cipher(algorithm, modes.ECB()).encryptor()
    if data[4:] != encryptor.update(challenge) + encryptor.finalize():
        raise PcscError("the card's answer to our challenge is wrong")
    return sw
