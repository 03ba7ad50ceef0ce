"""SMS encoding and segment counting, checked against Twilio's calculator.

pca-test-sms-count (libpca) and tests/cli/twilio-segments.js (the npm
package sms-segments-calculator, installed by scripts/setup) read the same
JSON Lines; every field they print must be equal. The fixed table below also
pins hand-checked numbers, so a change in the calculator shows up too.

Environment: PCA_BUILD_DIR, PCA_SOURCE_DIR (set by meson). The random seed
of the differential run is printed; set PCA_SMS_FUZZ_SEED to replay it.
"""

import json
import os
import random
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcatest as T  # noqa: E402

BUILD = os.environ.get("PCA_BUILD_DIR", "build")
SOURCE = os.environ.get("PCA_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
TOOL = os.path.join(BUILD, "tests", "pca-test-sms-count")
SCRIPT = os.path.join(SOURCE, "tests", "cli", "twilio-segments.js")
PACKAGE = os.path.join(SOURCE, "tests", "node_modules", "sms-segments-calculator")
SETUP_HINT = "run scripts/setup (it installs node's sms-segments-calculator 1.3.0 into tests/node_modules)"

FUZZ_STRINGS = T.scale(3200)


def jsonl(texts):
    # Raw UTF-8, not \u escapes: json-c 0.16 decodes an escaped surrogate
    # pair whose code point ends in D800..DFFF (U+1D800...) as U+FFFD.
    return "".join(json.dumps(t, ensure_ascii=False) + "\n" for t in texts).encode()


def run_lines(argv, data):
    proc = subprocess.run(argv, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=dict(os.environ, PCA_SOURCE_DIR=SOURCE))
    if proc.returncode != 0:
        raise AssertionError("%s exited %d: %s" % (argv[0], proc.returncode,
                                                    proc.stderr.decode(errors="replace")))
    # split on LF only: the output may hold U+2028 and friends
    lines = proc.stdout.decode().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [json.loads(line) for line in lines]


def pca(texts, mode=None):
    return run_lines([TOOL] + ([mode] if mode else []), jsonl(texts))


def twilio(texts, mode=None):
    node = shutil.which("node")
    if node is None:
        raise AssertionError("node is not on PATH; " + SETUP_HINT)
    if not os.path.isdir(PACKAGE):
        raise AssertionError("%s is missing; %s" % (PACKAGE, SETUP_HINT))
    return run_lines([node, SCRIPT] + ([mode] if mode else []), jsonl(texts))


def count(enc, segments, characters, units):
    return {"encoding": enc, "segments": segments, "characters": characters, "units": units}


EURO = "\u20ac"
ZH = "\u0436"  # Cyrillic zhe: one UTF-16 unit, not GSM
GRIN = "\U0001F600"
FAMILY = "\U0001F468\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466"

# (name, text, expected count, expected segment lengths in UTF-16 units or None)
CASES = [
    ("empty", "", count("GSM-7", 1, 0, 0), [0]),
    ("160 septets", "a" * 160, count("GSM-7", 1, 160, 160), [160]),
    ("161 septets", "a" * 161, count("GSM-7", 2, 161, 161), [153, 8]),
    ("153*2 septets", "a" * 306, count("GSM-7", 2, 306, 306), [153, 153]),
    ("153*2+1 septets", "a" * 307, count("GSM-7", 3, 307, 307), [153, 153, 1]),
    ("extension char ends a single segment", "a" * 158 + EURO, count("GSM-7", 1, 160, 160), None),
    ("euro at septet 153 would straddle", "a" * 152 + EURO + "a" * 10,
     count("GSM-7", 2, 164, 164), [152, 11]),
    ("brace at septet 160 would straddle", "a" * 159 + "{", count("GSM-7", 2, 161, 161), [153, 7]),
    ("caret at 153 pushes a third segment", "a" * 152 + "^" + "a" * 152,
     count("GSM-7", 3, 306, 306), [152, 152, 1]),
    ("all ten extension chars", "\f^{}\\[~]|" + EURO, count("GSM-7", 1, 20, 20), None),
    ("80 extension chars fill one segment", "~" * 80, count("GSM-7", 1, 160, 160), None),
    ("81 extension chars", "|" * 81, count("GSM-7", 2, 162, 162), [76, 5]),
    ("Greek capitals are GSM", "\u0394\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e",
     count("GSM-7", 1, 10, 10), None),
    ("Greek small letter is not", "\u03b1", count("UCS-2", 1, 1, 1), None),
    ("at sign is septet 0", "@@@", count("GSM-7", 1, 3, 3), None),
    ("70 UCS-2 units", ZH * 70, count("UCS-2", 1, 70, 70), [70]),
    ("71 UCS-2 units", ZH * 71, count("UCS-2", 2, 71, 71), [67, 4]),
    ("67*2+1 UCS-2 units", ZH * 135, count("UCS-2", 3, 135, 135), [67, 67, 1]),
    ("emoji fits exactly at units 69-70", ZH * 68 + GRIN, count("UCS-2", 1, 69, 70), [70]),
    ("emoji at unit 67 moves whole", ZH * 66 + GRIN + ZH * 10, count("UCS-2", 2, 77, 78), [66, 12]),
    ("35 emoji", GRIN * 35, count("UCS-2", 1, 35, 70), None),
    ("36 emoji", GRIN * 36, count("UCS-2", 2, 36, 72), [66, 6]),
    ("GSM char in UCS-2 costs one unit", EURO + ZH, count("UCS-2", 1, 2, 2), None),
    ("two flags", "\U0001F1FA\U0001F1F8\U0001F1EB\U0001F1F7", count("UCS-2", 1, 2, 8), None),
    ("three regional indicators", "\U0001F1FA\U0001F1F8\U0001F1EB", count("UCS-2", 1, 2, 6), None),
    ("skin tone", "\U0001F44D\U0001F3FD", count("UCS-2", 1, 1, 4), None),
    ("ZWJ family", FAMILY, count("UCS-2", 1, 1, 11), None),
    ("ZWJ family with skin tones",
     "\U0001F468\U0001F3FB\u200d\U0001F469\U0001F3FF", count("UCS-2", 1, 1, 9), None),
    ("keycap", "1\ufe0f\u20e3", count("UCS-2", 1, 1, 3), None),
    # grapheme-splitter (Unicode 10 rules) ends the cluster at the ZWJ here:
    # U+1F525 was no Glue_After_Zwj character. Unicode 14 would say 1.
    ("heart on fire is two to the calculator", "\u2764\ufe0f\u200d\U0001F525",
     count("UCS-2", 1, 2, 5), None),
    ("skin tone after a letter stands alone", "a\U0001F3FB", count("UCS-2", 1, 2, 3), None),
    ("flag then two marks: the calculator breaks before the second",
     "\U0001F1FA\U0001F1F8\u0301\u0301", count("UCS-2", 1, 2, 6), None),
    ("combining acute", "e\u0301", count("UCS-2", 1, 1, 2), None),
    ("cafe with combining acute", "cafe\u0301", count("UCS-2", 1, 4, 5), None),
    ("precomposed e acute is GSM", "caf\u00e9", count("GSM-7", 1, 4, 4), None),
    ("one cluster larger than a segment leaves segment 1 empty",
     "e" + "\u0301" * 80, count("UCS-2", 2, 1, 81), [0, 81]),
    ("oversized cluster overfills segment 2, the next char opens segment 3",
     ZH * 69 + "o" + "\u0308" * 65 + "a", count("UCS-2", 3, 71, 136), [67, 68, 1]),
    ("Cyrillic", "\u041f\u0440\u0438\u0432\u0435\u0442", count("UCS-2", 1, 6, 6), None),
    ("CJK", "\u4f60\u597d\u4e16\u754c", count("UCS-2", 1, 4, 4), None),
    ("CJK extension B", "\U00020000\U0002a6d6", count("UCS-2", 1, 2, 4), None),
    ("Arabic", "\u0645\u0631\u062d\u0628\u0627", count("UCS-2", 1, 5, 5), None),
    ("Devanagari with virama", "\u0928\u092e\u0938\u094d\u0924\u0947", count("UCS-2", 1, 4, 6), None),
    ("Hangul syllables and jamo", "\ud55c\uad6d\uc5b4\u1100\u1161\u11a8", count("UCS-2", 1, 4, 6), None),
    ("CRLF is two septets", "a\r\nb", count("GSM-7", 1, 4, 4), None),
    ("80 CRLF fill one segment", "\r\n" * 80, count("GSM-7", 1, 160, 160), None),
    ("81 CRLF", "\r\n" * 81, count("GSM-7", 2, 162, 162), [153, 9]),
    ("CRLF counts two characters in UCS-2", ZH + "\r\n", count("UCS-2", 1, 3, 3), None),
    ("c cedilla is not GSM", "\u00e7a", count("UCS-2", 1, 2, 2), None),
    ("capital C cedilla is", "\u00c7a", count("GSM-7", 1, 2, 2), None),
    ("backtick is not GSM", "`", count("UCS-2", 1, 1, 1), None),
    ("NBSP is not GSM (smart encoding off)", "a\u00a0b", count("UCS-2", 1, 3, 3), None),
    ("tab is not GSM", "a\tb", count("UCS-2", 1, 3, 3), None),
    ("NUL is not GSM", "a\u0000b", count("UCS-2", 1, 3, 3), None),
    ("curly quote is not GSM", "it\u2019s", count("UCS-2", 1, 4, 4), None),
]


def units16(s):
    return len(s.encode("utf-16-le")) // 2


class FixedCases(unittest.TestCase):
    def test_counts_against_table_and_calculator(self):
        texts = [c[1] for c in CASES]
        ours, theirs = pca(texts), twilio(texts)
        for (name, _, want, _), got, ref in zip(CASES, ours, theirs):
            with self.subTest(name):
                self.assertEqual(ref, want, "calculator disagrees with the table")
                self.assertEqual(got, want)

    def test_split_against_table_and_calculator(self):
        texts = [c[1] for c in CASES]
        ours, theirs = pca(texts, "--split"), twilio(texts, "--split")
        for (name, text, want, lens), got, ref in zip(CASES, ours, theirs):
            with self.subTest(name):
                self.assertEqual(got, ref)
                self.assertEqual("".join(got), text)
                self.assertEqual(len(got), want["segments"])
                if lens is not None:
                    self.assertEqual([units16(s) for s in got], lens)

    def test_invalid_utf8_is_an_error(self):
        bad = [b"\xc0\xaf", b"\xed\xa0\x80", b"abc\xe2\x82", b"\xf4\x90\x80\x80", b"\xff"]
        data = b"".join(b'"' + b + b'"\n' for b in bad)
        for mode in (None, "--split"):
            out = run_lines([TOOL] + ([mode] if mode else []), data)
            self.assertEqual(len(out), len(bad))
            for o in out:
                self.assertIn("error", o)
                self.assertIn("invalid UTF-8", o["error"])

    def test_not_a_string_is_an_error(self):
        out = run_lines([TOOL], b'42\n{"a":1}\n"ok"\n')
        self.assertIn("error", out[0])
        self.assertIn("error", out[1])
        self.assertEqual(out[2], count("GSM-7", 1, 2, 2))


GSM_BASIC = ("@\u00a3$\u00a5\u00e8\u00e9\u00f9\u00ec\u00f2\u00c7\n\u00d8\u00f8\r\u00c5\u00e5"
             "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e\u00c6\u00e6\u00df\u00c9"
             " !\"#\u00a4%&'()*+,-./0123456789:;<=>?"
             "\u00a1ABCDEFGHIJKLMNOPQRSTUVWXYZ\u00c4\u00d6\u00d1\u00dc\u00a7"
             "\u00bfabcdefghijklmnopqrstuvwxyz\u00e4\u00f6\u00f1\u00fc\u00e0")
GSM_EXT = "\f^{}\\[]~|" + EURO
LATIN = "\u00e7\u00e1\u00ed\u00f3\u00fa\u00e2\u00ea\u00ee\u00f4\u00fb\u00e3\u00f5\u0153\u0161\u017e\u0142\u00fd\u00c1\u00ca`"
CYRILLIC = "\u0410\u0411\u0416\u0436\u044f\u0451\u0404\u0457"
CJK = "\u4f60\u597d\u4e16\u754c\u65e5\u672c\u8a9e\u3042\u30a2\ud55c\U00020000"
ARABIC_ETC = "\u0645\u0631\u062d\u0628\u0627\u0600\u05d0\u0928\u094d\u0947\u0e01\u0e31"
MARKS = "\u0301\u0308\u0327\u20e3\ufe0f\ufe0e\u200d\u0903\U000E0020\U000E007F"
SPACES = " \u00a0\t\r\n\u2028\u3000\u200b\u000b\u0000"
EMOJI = ["\U0001F600", "\U0001F44D", "\U0001F44D\U0001F3FD", "\U0001F3FB", "\U0001F3FF",
         "\U0001F1FA\U0001F1F8", "\U0001F1EB", "\U0001F1F7", FAMILY, "\U0001F468", "\U0001F469",
         "\U0001F466", "\u2764\ufe0f", "\U0001F525", "\U0001F3F3\ufe0f\u200d\U0001F308",
         "\U0001F9D1\u200d\U0001F4BB", "\u261d\U0001F3FC", "\U0001F3F4\U000E0067\U000E0062\U000E0065"
         "\U000E006E\U000E0067\U000E007F", "\u270c\ufe0f", "1\ufe0f\u20e3", "\U0001F469\u200d\u2764\ufe0f"
         "\u200d\U0001F48B\u200d\U0001F468"]

POOLS = {
    "gsm": list(GSM_BASIC),
    "ext": list(GSM_EXT),
    "latin": list(LATIN),
    "cyrillic": list(CYRILLIC),
    "cjk": list(CJK),
    "arabic": list(ARABIC_ETC),
    "marks": list(MARKS),
    "spaces": list(SPACES),
    "emoji": EMOJI,
}

# Most strings stay GSM-7 (one stray character makes the whole text UCS-2),
# so draw them from GSM-only mixes half of the time.
MIXES = [
    ({"gsm": 10}, 3),
    ({"gsm": 6, "ext": 1}, 3),
    ({"gsm": 1, "ext": 1}, 1),
    ({"gsm": 20, "latin": 1}, 1),
    ({"gsm": 4, "cyrillic": 2, "emoji": 1, "marks": 1}, 2),
    ({"cyrillic": 3, "cjk": 2, "arabic": 2, "spaces": 1}, 1),
    ({"emoji": 3, "marks": 2, "gsm": 1}, 2),
    ({name: 1 for name in POOLS}, 3),
]


def random_text(rng):
    weights, _ = rng.choices(MIXES, weights=[w for _, w in MIXES])[0]
    names = list(weights)
    n = rng.randint(0, 700)
    picks = rng.choices(names, weights=[weights[k] for k in names], k=n)
    return "".join(rng.choice(POOLS[k]) for k in picks)


class Differential(unittest.TestCase):
    def compare(self, seed, texts, mode):
        ours, theirs = pca(texts, mode), twilio(texts, mode)
        self.assertEqual(len(ours), len(texts))
        self.assertEqual(len(theirs), len(texts))
        bad = [i for i in range(len(texts)) if ours[i] != theirs[i]]
        if bad:
            i = bad[0]
            self.fail("seed %d, mode %s: %d of %d strings differ; first (#%d, %d chars) %r...: "
                      "pca %.300s, calculator %.300s"
                      % (seed, mode or "count", len(bad), len(texts), i, len(texts[i]),
                         texts[i][:80], ours[i], theirs[i]))
        return ours

    def test_random_strings_match_calculator(self):
        seed = int(os.environ.get("PCA_SMS_FUZZ_SEED") or random.SystemRandom().randrange(2**32))
        print("sms fuzz seed %d (PCA_SMS_FUZZ_SEED=%d replays it)" % (seed, seed), file=sys.stderr)
        rng = random.Random(seed)
        texts = [random_text(rng) for _ in range(FUZZ_STRINGS)]
        counts = self.compare(seed, texts, None)
        self.assertEqual({c["encoding"] for c in counts}, {"GSM-7", "UCS-2"})
        self.assertGreater(sum(c["segments"] > 1 for c in counts), FUZZ_STRINGS // 4,
                           "too few multi-segment strings")
        self.compare(seed, texts, "--split")
        # In GSM-7 texts every cluster is one character; the UCS-2 ones are
        # where the two splitters could part (and node is slow).
        self.compare(seed, [t for t, c in zip(texts, counts) if c["encoding"] == "UCS-2"],
                     "--graphemes")


def sweep_probes(c):
    """Short texts that reveal the break property of c to both splitters."""
    return [c + "\u0301", "a" + c, "\U0001F44D" + c + "\U0001F3FB", c + "\U0001F466", c + "a",
            c + c, c + "\u1161", c + "\u11a8", "\U0001F44D" + c, c + "\U0001F3FB", "\u200d" + c]


class CodePointSweep(unittest.TestCase):
    """Every code point of planes 0, 1 and the tags/variation selectors of
    plane 14, and a sample of the rest, next to each kind of neighbour: our
    grapheme clusters must be the calculator's (see lib/utf8.c)."""

    def test_clusters_match_calculator(self):
        cps = [c for c in range(0x20000) if not 0xD800 <= c <= 0xDFFF]
        cps += range(0xE0000, 0xE01F0)
        cps += range(0x20000, 0x110000, 509)
        # A fraction of the code points when the tests run scaled down (the
        # whole sweep runs in the normal build).
        cps = cps[::max(1, round(1 / T.SCALE))]
        texts = []
        for i in range(0, len(cps), 48):
            texts.append("\n".join(p for c in cps[i:i + 48] for p in sweep_probes(chr(c))))
        ours, theirs = pca(texts, "--graphemes"), twilio(texts, "--graphemes")
        self.assertEqual(len(ours), len(texts))
        bad = [i for i in range(len(texts)) if ours[i] != theirs[i]]
        if bad:
            i = bad[0]
            diff = next(j for j, (a, b) in enumerate(zip(ours[i], theirs[i])) if a != b)
            self.fail("%d of %d sweep texts differ; first at cluster %d: pca %r, calculator %r"
                      % (len(bad), len(texts), diff, ours[i][diff:diff + 3], theirs[i][diff:diff + 3]))


if __name__ == "__main__":
    unittest.main()
