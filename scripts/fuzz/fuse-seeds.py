#!/usr/bin/env python3
"""Writes the seed corpus of FuseFuzzTest (integration-tests): hand-made request sequences that reach
every opcode with sensible arguments, in the harness's input format:
  record = u8 opcode | u8 node (<200: node % 12) | u8 flags (bit0 true len, bit1 uid 1000)
           | u16 body length | body | u16 reply space / 4 | u16 segment cuts
Node ids after the harness's own LOOKUPs: 1 root, 2 a, 3 d, 4 l (symlink), 5 p (FIFO), 6 c (char dev).
"""
import os, struct, sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)

def rec(op, node, body=b"", cap=4096, flags=1, cuts=0, raw_node=None):
    sel = struct.pack("<BB", op, node) + (struct.pack("<Q", raw_node) if node >= 200 else b"")
    return sel + struct.pack("<BH", flags, len(body)) + body + struct.pack("<HH", cap // 4, cuts)

def name(s): return s.encode() + b"\0"
def u32(*v): return struct.pack("<%dI" % len(v), *v)
def u64(*v): return struct.pack("<%dQ" % len(v), *v)
def read_in(fh, off, size): return u64(fh, off) + u32(size, 0) + u64(0) + u32(0, 0)
def lk(fh, owner, start, end, typ, flags=0): return u64(fh, owner, start, end) + u32(typ, 0) + u32(flags, 0)

O_RDONLY, O_WRONLY, O_RDWR, O_TRUNC = 0, 1, 2, 0o1000
seeds = {
    "file_io": [rec(14, 2, u32(O_RDWR, 0)), rec(15, 2, read_in(1, 0, 100)),
                rec(16, 2, read_in(1, 3, 5) + b"HELLO", cuts=0x0305), rec(3, 2, u32(1, 0) + u64(1)),
                rec(4, 2, u32(1 << 3 | 1 << 6, 0) + u64(1, 2) + bytes(88 - 24)), rec(20, 2, u64(1) + u32(1, 0)),
                rec(25, 2, u64(1) + u32(0, 0) + u64(7)), rec(18, 2, u64(1) + u32(0, 0) + u64(0))],
    "namespace": [rec(9, 1, u32(0o755, 0o22) + name("nd")), rec(35, 1, u32(O_RDWR | 0o100, 0o644, 0, 0) + name("nf")),
                  rec(6, 1, name("sl") + name("a")), rec(13, 2, u64(1) + name("hard")),
                  rec(12, 1, u64(1) + name("hard") + name("moved")), rec(45, 1, u64(1) + u32(1, 0) + name("a") + name("moved")),
                  rec(10, 1, name("moved")), rec(11, 1, name("nd")), rec(1, 3, name("b")), rec(1, 1, name("..")),
                  rec(8, 1, u32(0o10644, 0, 0o22, 0) + name("fifo2"))],
    "special_files": [rec(14, 5, u32(O_RDONLY, 0)), rec(14, 6, u32(O_RDWR, 0)), rec(14, 4, u32(O_RDONLY, 0)),
                      rec(27, 5, u32(0, 0)), rec(4, 5, u32(1 << 3, 0) + u64(0, 0) + bytes(88 - 24)),
                      rec(31, 6, lk(0, 9, 0, 2**63 - 1, 1)), rec(32, 5, lk(0, 9, 0, 2**63 - 1, 1)),
                      rec(35, 1, u32(O_RDWR, 0o644, 0, 0) + name("p")), rec(35, 1, u32(O_RDWR, 0o644, 0, 0) + name("c")),
                      rec(8, 1, u32(0o60644, (8 << 8) | 0, 0, 0) + name("disk")), rec(50, 6)],
    "dirs": [rec(27, 3, u32(0, 0)), rec(44, 3, read_in(1, 0, 4096)), rec(28, 3, read_in(1, 0, 4096)),
             rec(28, 3, read_in(1, 1, 80)), rec(30, 3, u64(1) + u32(0, 0)), rec(29, 3, u64(1) + u32(0, 0) + u64(0)),
             rec(27, 2, u32(0, 0)), rec(44, 1, read_in(99, 0, 4096))],
    "locks": [rec(14, 2, u32(O_RDWR, 0)), rec(32, 2, lk(1, 1, 0, 99, 1)), rec(31, 2, lk(1, 2, 10, 20, 1)),
              rec(32, 2, lk(1, 2, 0, 0, 0)), rec(33, 2, lk(1, 2, 0, 0, 1)), rec(32, 2, lk(1, 1, 0, 99, 2)),
              rec(32, 2, lk(1, 3, 0, 0, 1, 1)), rec(32, 2, lk(1, 3, 0, 0, 2, 1)), rec(25, 2, u64(1) + u32(0, 0) + u64(1)),
              rec(18, 2, u64(1) + u32(0, 0) + u64(1))],
    "xattr": [rec(21, 2, u32(3, 0) + name("trusted.k") + b"val"), rec(22, 2, u32(64, 0) + name("trusted.k")),
              rec(22, 2, u32(0, 0) + name("trusted.k")), rec(23, 2, u32(256, 0)), rec(24, 2, name("trusted.k")),
              rec(22, 5, u32(64, 0) + name("user.x"))],
    "lifecycle": [rec(2, 2, u64(1), cap=0), rec(42, 0, u32(2, 0) + u64(3, 1, 4, 1), cap=0), rec(3, 3, u32(0, 0) + u64(0)),
                  rec(38, 0), rec(3, 1, u32(0, 0) + u64(0)), rec(26, 0, u32(7, 37, 1 << 20, 0) + bytes(48)),
                  rec(36, 0, u64(5), cap=0), rec(3, 200, u32(0, 0) + u64(0), raw_node=0xdeadbeef)],
    "misc": [rec(14, 2, u32(O_RDWR, 0)), rec(43, 2, u64(1, 0, 4096) + u32(0, 0)), rec(46, 2, u64(1, 0) + u32(3, 0)),
             rec(47, 2, u64(1, 0, 2, 1, 100, 5, 0)), rec(17, 1), rec(34, 2, u32(4, 0)), rec(5, 4),
             rec(51, 1, u32(O_RDWR, 0o600, 0, 0)), rec(50, 1), rec(99 & 0x3f, 1), rec(3, 2, b"", flags=0)],
}
for k, v in seeds.items():
    with open(os.path.join(out, k), "wb") as f:
        f.write(b"".join(v))
print("wrote", len(seeds), "seeds to", out)
