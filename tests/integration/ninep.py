#!/usr/bin/env python3
"""A minimal 9P2000.L client for the t_net_* tests, standard library only.

diod's own clients (diodcat, diodls) only read, so this one writes: it
does what the kernel's v9fs client does for write(2) on a file opened
O_WRONLY, cutting the data into Twrite messages of at most msize - 24
bytes (P9_IOHDRSZ), each of which diod hands on as one pwrite. No
authentication: for a server started with -n.

    ninep.py -s HOST:PORT -a ANAME [-m MSIZE] [-u UID] msize
    ninep.py -s HOST:PORT -a ANAME [-m MSIZE] [-u UID] write PATH < DATA
    ninep.py -s HOST:PORT -a ANAME [-m MSIZE] [-u UID] read PATH

"msize" prints the msize the server agreed to. "write" prints how many
Twrite messages it sent. An Rlerror exits 1 with its errno name.
"""

import argparse
import errno
import os
import socket
import struct
import sys

TLERROR, RLERROR = 6, 7
TLOPEN = 12
TVERSION = 100
TATTACH = 104
TWALK = 110
TREAD = 116
TWRITE = 118
TCLUNK = 120
NOTAG = 0xFFFF
NOFID = 0xFFFFFFFF
IOHDRSZ = 24


class NinePError(Exception):
    def __init__(self, code):
        super().__init__(errno.errorcode.get(code, str(code)))
        self.code = code


def pstr(s):
    b = s.encode()
    return struct.pack("<H", len(b)) + b


class Client:
    def __init__(self, addr, msize):
        host, port = addr.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=60)
        self.tag = 0
        self.msize = msize
        body = self.rpc(TVERSION, struct.pack("<I", msize) + pstr("9P2000.L"),
                        tag=NOTAG)
        self.msize = struct.unpack_from("<I", body)[0]

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError("connection closed")
            buf += chunk
        return buf

    def rpc(self, mtype, body, tag=None):
        if tag is None:
            self.tag = (self.tag + 1) % NOTAG
            tag = self.tag
        msg = struct.pack("<IBH", 7 + len(body), mtype, tag) + body
        self.sock.sendall(msg)
        size, rtype, rtag = struct.unpack("<IBH", self.recv_exact(7))
        rbody = self.recv_exact(size - 7)
        if rtype == RLERROR:
            raise NinePError(struct.unpack("<I", rbody)[0])
        if rtype != mtype + 1 or rtag != tag:
            raise EOFError(f"unexpected reply type {rtype} tag {rtag}")
        return rbody

    def attach(self, aname, uid):
        self.rpc(TATTACH, struct.pack("<II", 0, NOFID) + pstr("") +
                 pstr(aname) + struct.pack("<I", uid))

    def walk_open(self, path, flags):
        names = [n for n in path.split("/") if n]
        body = struct.pack("<IIH", 0, 1, len(names))
        self.rpc(TWALK, body + b"".join(pstr(n) for n in names))
        self.rpc(TLOPEN, struct.pack("<II", 1, flags))
        return 1

    def write(self, fid, data):
        chunk = self.msize - IOHDRSZ
        off = sends = 0
        while off < len(data) or sends == 0:
            part = data[off:off + chunk]
            body = self.rpc(TWRITE, struct.pack("<IQI", fid, off, len(part))
                            + part)
            n = struct.unpack("<I", body)[0]
            if n == 0 and part:
                raise NinePError(errno.EIO)
            off += n
            sends += 1
        return sends

    def read(self, fid, out):
        off = 0
        while True:
            body = self.rpc(TREAD, struct.pack("<IQI", fid, off,
                                               self.msize - IOHDRSZ))
            n = struct.unpack_from("<I", body)[0]
            if n == 0:
                return
            out.write(body[4:4 + n])
            out.flush()
            off += n

    def clunk(self, fid):
        self.rpc(TCLUNK, struct.pack("<I", fid))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-s", required=True)
    ap.add_argument("-a", required=True)
    ap.add_argument("-m", type=int, default=65536)
    ap.add_argument("-u", type=int, default=os.geteuid())
    ap.add_argument("op", choices=["msize", "write", "read"])
    ap.add_argument("path", nargs="?")
    args = ap.parse_args()
    try:
        c = Client(args.s, args.m)
        if args.op == "msize":
            print(c.msize)
            return 0
        c.attach(args.a, args.u)
        if args.op == "write":
            fid = c.walk_open(args.path, os.O_WRONLY)
            sends = c.write(fid, sys.stdin.buffer.read())
            c.clunk(fid)
            print(sends)
        else:
            fid = c.walk_open(args.path, os.O_RDONLY)
            c.read(fid, sys.stdout.buffer)
            c.clunk(fid)
    except NinePError as e:
        print(f"ninep.py: {args.op} {args.path or ''}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
