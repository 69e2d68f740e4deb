#!/usr/bin/env python3
"""Writes tests/vectors/nfc.tsv: NFC reference answers for core/text.c.

Source: Python's unicodedata.normalize("NFC") (the Unicode version it prints
in the file's header). Deterministic (fixed seed):

    python3 tests/vectors/nfc_vectors.py > tests/vectors/nfc.tsv
"""
import random
import sys
import unicodedata as u

rnd = random.Random(11)
latin = [c for c in list(range(0xC0, 0x2B0)) + list(range(0x1E00, 0x1F00))
         if u.category(chr(c))[0] == "L"]
marks = [m for m in range(0x300, 0x370)
         if u.combining(chr(m)) and u.normalize("NFC", chr(m)) == chr(m)]
ascii_letters = [ord(c) for c in "aeiouynczsAEIOUYNCZS"]

def line(cps, want=None):
    s = "".join(map(chr, cps))
    inp = s.encode().hex()
    out = want or u.normalize("NFC", s).encode().hex()
    print(f"{inp}\t{out}")

print(f"# NFC of each input, from Python {sys.version.split()[0]} unicodedata "
      f"(Unicode {u.unidata_version}); made by tests/vectors/nfc_vectors.py.")
print("# input (UTF-8 hex)\tNFC (UTF-8 hex), or ENOTSUP where core/text refuses")
for c in latin:
    line([c])
for b in ascii_letters[:10] + latin[:40]:
    for m in marks:
        line([b, m])
for _ in range(1500):
    seq = []
    for _ in range(rnd.randint(1, 4)):
        seq.append(rnd.choice(ascii_letters + latin))
        for _ in range(rnd.randint(0, 3)):
            seq.append(rnd.choice(marks))
    line(seq)
# A mark after a Greek or Cyrillic letter: NFC may compose it; refused.
for b in (0x3B1, 0x3C9, 0x438, 0x435):
    for m in (0x301, 0x306, 0x308):
        line([b, m], "ENOTSUP")
