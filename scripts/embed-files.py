#!/usr/bin/env python3
"""Write a C file that holds the given files as byte arrays (pca_embedded_files)."""
import os
import sys


def c_literal(data):
    out, line = [], []
    for b in data:
        line.append("0x%02x," % b)
        if len(line) == 16:
            out.append("\t" + " ".join(line))
            line = []
    if line:
        out.append("\t" + " ".join(line))
    return "\n".join(out)


def main():
    output, inputs = sys.argv[1], sys.argv[2:]
    parts = ['#include "embedded.h"\n']
    entries = []
    for i, path in enumerate(inputs):
        with open(path, "rb") as f:
            data = f.read()
        parts.append("static const char file%d[] = {\n%s\n\t0x00\n};\n" % (i, c_literal(data)))
        entries.append('\t{ "%s", file%d, %d },' % (os.path.basename(path), i, len(data)))
    parts.append("const struct pca_embedded pca_embedded_files[] = {\n%s\n\t{ 0, 0, 0 },\n};\n"
                 % "\n".join(entries))
    with open(output, "w") as f:
        f.write("\n".join(parts))


if __name__ == "__main__":
    main()
