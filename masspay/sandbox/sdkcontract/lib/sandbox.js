'use strict';
// Starts a real `payrun sandbox` process for the suite: the binary named by
// PAYRUN_BIN (the Makefile builds it), or one built here with `go build`.
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const REPO = path.resolve(__dirname, '..', '..', '..', '..');

// binary returns the path of a payrun binary, building one into a temporary
// directory when PAYRUN_BIN is not set.
function binary() {
  if (process.env.PAYRUN_BIN) return path.resolve(process.env.PAYRUN_BIN);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'payrun-sdkcontract-'));
  const bin = path.join(dir, 'payrun');
  execFileSync('go', ['build', '-o', bin, './cmd/payrun'], { cwd: REPO, stdio: ['ignore', 'inherit', 'inherit'] });
  return bin;
}

// start runs `payrun sandbox` on a free port of 127.0.0.1 with apiKey and
// resolves to { base, stop } once it prints the SDK's base path.
function start(apiKey, extraArgs = []) {
  const bin = binary();
  const child = spawn(bin, ['sandbox', '--listen', '127.0.0.1:0', '--api-key', apiKey, '--verbose', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let log = '';
  child.stderr.on('data', (b) => { log += b; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill(); reject(new Error(`payrun sandbox did not start in 30 s:\n${out}${log}`)); }, 30000);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`payrun sandbox exited with ${code}:\n${out}${log}`)); });
    let started = false;
    child.stdout.on('data', (b) => {
      out += b;
      const m = /official SDK: base path (\S+)/.exec(out);
      // Later output ("sandbox stopped") must not run this again: it would
      // drop the exit listener stop() waits on.
      if (!m || started) return;
      started = true;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({
        base: m[1],
        log: () => log,
        stop: () => new Promise((done) => {
          if (child.exitCode !== null) return done();
          child.on('exit', () => done());
          child.kill('SIGINT');
        }),
      });
    });
  });
}

module.exports = { start };
