// Preloaded (node -r) into processes the bench times: at exit, writes this
// process's CPU time (user + system, µs, since it started) to the file named
// by VIRT_PIN_BENCH_CPU_FILE, so a child's CPU time can be measured next to
// its wall time without a platform tool. Loaded into the baseline too.
'use strict';
const file = process.env.VIRT_PIN_BENCH_CPU_FILE;
if (file) {
  process.on('exit', () => {
    const c = process.cpuUsage();
    require('node:fs').writeFileSync(file, String(c.user + c.system));
  });
}
