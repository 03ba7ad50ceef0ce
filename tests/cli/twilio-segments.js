#!/usr/bin/env node
// Twilio's message segment calculator (npm sms-segments-calculator), driven
// with the same protocol as pca-test-sms-count so the two can be compared:
// JSON Lines on stdin, each line a JSON string; one JSON line out per line.
//   (default)    {"encoding":"GSM-7","segments":2,"characters":170,"units":170}
//   --split      ["text of segment 1", ...]
//   --graphemes  the characters the calculator counts
// The package is looked up in $PCA_SOURCE_DIR/tests/node_modules (installed
// by scripts/setup); exit status 3 when it is not there.
'use strict';

const fs = require('fs');
const path = require('path');

const VERSION = '1.3.0';

function loadCalculator() {
  const root = process.env.PCA_SOURCE_DIR
    ? path.join(process.env.PCA_SOURCE_DIR, 'tests')
    : path.join(__dirname, '..');
  const dir = path.join(root, 'node_modules', 'sms-segments-calculator');
  let pkg;
  try {
    pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  } catch (e) {
    process.stderr.write(`twilio-segments: ${dir} not found; run scripts/setup\n`);
    process.exit(3);
  }
  if (pkg.version !== VERSION) {
    process.stderr.write(`twilio-segments: sms-segments-calculator ${pkg.version} found, ` +
      `${VERSION} wanted; run scripts/setup\n`);
    process.exit(3);
  }
  return {
    SegmentedMessage: require(dir).SegmentedMessage,
    splitGraphemes: require(path.join(dir, 'dist', 'libs', 'textUtils')).splitGraphemes,
  };
}

function describe(calc, text, mode) {
  if (mode === '--graphemes') {
    // What SegmentedMessage stores in .graphemes, without building segments.
    return calc.splitGraphemes(text);
  }
  // Smart encoding off: pca counts the text it sends.
  const msg = new calc.SegmentedMessage(text, 'auto', false);
  if (mode === '--split') {
    // A Segment is an Array subclass whose map/filter misbehave; index it.
    return msg.segments.map((seg) => {
      let text = '';
      for (let i = 0; i < seg.length; i++) {
        if (!seg[i].isUserDataHeader) {
          text += seg[i].raw;
        }
      }
      return text;
    });
  }
  return {
    encoding: msg.encodingName,
    segments: msg.segmentsCount,
    characters: msg.numberOfCharacters,
    units: msg.encodedChars.reduce((n, c) => n + c.codeUnits.length, 0),
  };
}

function main() {
  const mode = process.argv[2];
  if (process.argv.length > 3 || (mode !== undefined && mode !== '--split' && mode !== '--graphemes')) {
    process.stderr.write('usage: twilio-segments.js [--split | --graphemes] < lines.jsonl\n');
    process.exit(2);
  }
  const calc = loadCalculator();
  const lines = fs.readFileSync(0, 'utf8').split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') {
    lines.pop();
  }
  const out = [];
  for (const line of lines) {
    let text;
    try {
      text = JSON.parse(line);
    } catch (e) {
      text = undefined;
    }
    if (typeof text !== 'string') {
      out.push(JSON.stringify({ error: 'input line is not a JSON string' }));
      continue;
    }
    out.push(JSON.stringify(describe(calc, text, mode)));
  }
  fs.writeSync(1, out.length ? out.join('\n') + '\n' : '');
}

main();
