/**
 * The one description of the command line: every command, its synopsis,
 * options, examples and exit status. `--help`, `virt-pin help CMD`, the
 * shell completions and the man page are all generated from it, and the
 * commands take their parser options from it, so none of them can drift.
 */

export interface OptionSpec {
  /** Without the dashes: `format`. */
  long: string;
  short?: string;
  /** The value's name in help (`FMT`); absent for a flag. */
  value?: string;
  multiple?: boolean;
  /** The values it takes, offered by completion. */
  choices?: readonly string[];
  /** What completion offers for the value when there are no choices. */
  complete?: 'file' | 'dir';
  /** One or more lines, each under 60 characters. */
  help: string;
  /** A heading for a group of options (`policy`); absent: `options`. */
  group?: string;
}

export interface CommandSpec {
  name: string;
  /** One line, lower case, for the command list. */
  summary: string;
  /** What follows `virt-pin NAME` in each usage line. */
  synopsis: readonly string[];
  /** Paragraphs. */
  description: string;
  options: readonly OptionSpec[];
  /** Command lines, without the leading `$ `. */
  examples: readonly string[];
  /** `[status, meaning]`. */
  exitStatus: readonly (readonly [number, string])[];
  /** Words that may come first (hook's install/uninstall, completion's shells). */
  subcommands?: readonly string[];
  /** Operands: files (FILE|DIR|-), a domain name, or nothing. */
  operands: 'files' | 'name' | 'none';
  /** Not in the command list (internal or reached by other means). */
  hidden?: boolean;
}

const HOST: OptionSpec = { long: 'host', value: 'SRC', complete: 'file', help: 'host facts: a capabilities XML file (virsh capabilities),\nsysfs[:ROOT], or local' };
const DRIVER: OptionSpec = { long: 'driver', value: 'DRV', choices: ['qemu', 'generic'], help: 'qemu (default) or generic: which driver\'s checks apply' };
/** `--libvirt VER` (src/cli/libvirt-version-arg.ts): every command whose answer depends on the libvirt release (docs/fidelity.md). */
const LIBVIRT: OptionSpec = { long: 'libvirt', value: 'VER', help: "judge as this libvirt release does, e.g. 9.0 (default:\nthe local libvirt's version from virsh/libvirtd, kept\nper binary in ~/.cache/virt-pin, else 10.7; 8.0 is the\noldest modelled)" };
const COLOR: OptionSpec = { long: 'color', value: 'WHEN', choices: ['auto', 'always', 'never'], help: 'colour: auto (default: when writing to a terminal and\nNO_COLOR is unset), always or never' };
const HELP: OptionSpec = { long: 'help', short: 'h', help: 'print this help and exit' };

const INPUT_EXIT = [1, 'the domain XML has an error that stops the command\n(printed as FILE:LINE:COL: error CODE …)'] as const;
const USAGE_EXIT = [2, 'usage error, or a file or host source that cannot be read'] as const;

/** The pin policy flags, shared by pin and define (src/cli/pin-policy.ts). */
export const POLICY_OPTION_SPECS: readonly OptionSpec[] = [
  { long: 'policy', value: 'FILE', complete: 'file', help: 'a policy file (schemas/policy.schema.json); the flags\nbelow override it', group: 'policy' },
  { long: 'cpus', value: 'SET', help: 'host CPUs the guest may use [online − isolated − reserve]', group: 'policy' },
  { long: 'reserve', value: 'SET', help: 'host CPUs kept for the host, or none [first core of\neach node; on hybrid hosts its first E-core cluster]', group: 'policy' },
  { long: 'vcpu', value: 'MODE', choices: ['dedicated', 'shared'], help: 'dedicated | shared [dedicated]', group: 'policy' },
  { long: 'threads', value: 'MODE', choices: ['prefer', 'isolate', 'require'], help: 'prefer | isolate | require (SMT, like Nova) [prefer]', group: 'policy' },
  { long: 'per-core', help: 'one vCPU per physical core, siblings idle', group: 'policy' },
  { long: 'emulator', value: 'MODE', choices: ['housekeeping', 'share', 'isolate'], help: 'housekeeping | share | isolate | a cpuset\n[housekeeping for dedicated vCPUs, else share]', group: 'policy' },
  { long: 'numa', value: 'MODE', choices: ['strict', 'preferred', 'none'], help: 'strict | preferred | none [strict]', group: 'policy' },
  { long: 'hostdev', value: 'MODE', choices: ['local', 'ignore'], help: "local | ignore: prefer the devices' NUMA node [local]", group: 'policy' },
  { long: 'realtime', value: 'S:P[:V]', help: 'vcpusched scheduler fifo|rr, priority, vCPUs [all but 0]', group: 'policy' },
  { long: 'topology', value: 'MODE', choices: ['keep', 'match-host'], help: 'keep | match-host: write <cpu><topology> (a die per\nL3 group) and <cache> to match', group: 'policy' },
  { long: 'cache', value: 'MODE', choices: ['prefer', 'require', 'ignore'], help: 'prefer | require | ignore: dedicated vCPUs in one L3\ngroup, the largest that holds them [prefer]', group: 'policy' },
  { long: 'core-type', value: 'TYPE', choices: ['performance', 'efficiency', 'any'], help: 'performance | efficiency | any: vCPUs on hybrid hosts\n[performance first, then efficiency]', group: 'policy' },
  { long: 'housekeeping-core-type', value: 'TYPE', choices: ['performance', 'efficiency', 'any'], help: 'the same for the emulator/IOThreads reserve\n[efficiency on hybrid hosts]', group: 'policy' },
];

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'check',
    summary: 'validate domain XML as libvirt would, plus expert lints',
    synopsis: ['[options] FILE|DIR|- …', '[options] --connect URI --all|NAME…'],
    description: `Check libvirt domain XML: every condition that makes libvirt refuse the XML
(error), everything libvirt silently drops or changes (warning), and expert
lints about pinning (warning/info).

Directories are searched for *.xml (symbolic links followed); there, XML
whose root is not <domain> (libvirt's networks/, storage/, nwfilter/ …) is
skipped with an info line. A file named on the command line is always
checked. A file that cannot be read is an error entry in every format while
the others are still checked. 200 files or more are checked in parallel on
worker threads when at least two cores are idle.

With --host and several domains, the cross-domain findings (CROSS_*: shared
dedicated CPUs, vCPUs on another domain's emulator or IOThread CPUs, IRQs on
another's dedicated CPUs, CPU overcommit, node memory) are added; see
docs/host-view.md.

libvirt stops at its first error, in the order it parses and validates, not
the file's: every format lists the findings in document order, the human
output leads with the error libvirt would report, and in json each error has
libvirtOrder (1 = that error; docs/validation.md).`,
    options: [
      { long: 'format', value: 'FMT', choices: ['human', 'json', 'sarif', 'github', 'gitlab', 'junit'], help: 'human (default), json, sarif (SARIF 2.1.0), github\n(GitHub Actions annotations), gitlab (GitLab Code\nQuality) or junit (JUnit XML)' },
      { long: 'base', value: 'DIR', complete: 'dir', help: 'sarif, gitlab: paths are relative to DIR (default: the\ncurrent directory, i.e. the repository root in CI)' },
      HOST,
      DRIVER,
      LIBVIRT,
      { long: 'strict', help: 'warnings also make the exit status 1' },
      { long: 'connect', value: 'URI', help: 'read the domains from libvirt (virsh dumpxml --inactive):\n--all of them, or the NAMEs given' },
      { long: 'all', help: 'with --connect: every defined domain' },
      { long: 'overcommit', value: 'N', help: 'cross-domain CPU overcommit (info) above N vCPUs\nper CPU (default 1; docs/host-view.md)' },
      { long: 'all-xml', help: 'directories: check every *.xml, not only domains' },
      { long: 'allow-empty', help: 'finding no domain XML at all is not an error' },
      { long: 'quiet', short: 'q', help: 'human format: no summary or skipped-file lines' },
      { long: 'jobs', short: 'j', value: 'N', help: 'threads checking, this one included (default: one per idle core for 200 files or more, else 1; 1 = no worker threads)' },
      { long: 'max-bytes', value: 'N', help: 'refuse files larger than N bytes, unread (default 4M;\nsuffixes K, M, G are powers of 1024)' },
      { long: 'max-depth', value: 'N', help: 'refuse elements nested deeper than N (default 128)' },
      { long: 'max-elements', value: 'N', help: 'refuse documents with more than N elements\n(default 1000000)' },
      COLOR,
      HELP,
    ],
    examples: ['virt-pin check /etc/libvirt/qemu/', 'virt-pin check --host local --strict vm.xml', 'virsh dumpxml vm | virt-pin check --format json -', 'virt-pin check --format sarif domains/ > virt-pin.sarif', 'virt-pin check --host local --connect qemu:///system --all'],
    exitStatus: [
      [0, 'no findings that fail the check'],
      [1, 'findings: errors (warnings too with --strict)'],
      [2, 'usage error, a file that cannot be read, or no domain XML\nfound (unless --allow-empty)'],
    ],
    operands: 'files',
  },
  {
    name: 'resolve',
    summary: 'show where every vCPU, emulator and IOThread thread may run, and why',
    synopsis: ['[options] FILE|-'],
    description: `Resolve a domain's CPU affinity exactly as libvirt does: for every vCPU
(online and offline), the emulator and every IOThread, the host CPUs it may
use, its memory nodes, scheduler and bandwidth, and why (rule + element +
line). Without --host, "all host CPUs" and numad advice stay symbolic.

Several files, a directory or --connect resolve each domain in turn: a
'== NAME (FILE) ==' heading before each table, one line per domain with
--explain, and a JSON array of models with --json.`,
    options: [
      HOST,
      DRIVER,
      LIBVIRT,
      { long: 'json', help: 'print the resolved model as JSON\n(schemas/resolved-model.schema.json)' },
      { long: 'explain', value: 'THREAD', help: "one sentence for one thread: 'vcpu N', 'emulator' or\n'iothread N'" },
      { long: 'connect', value: 'URI', help: 'read the domains from libvirt (virsh dumpxml --inactive):\n--all of them, or the NAMEs given' },
      { long: 'all', help: 'with --connect: every defined domain' },
      COLOR,
      HELP,
    ],
    examples: ['virt-pin resolve vm.xml', 'virt-pin resolve --host local --json vm.xml', "virt-pin resolve --explain 'vcpu 3' vm.xml", 'virsh dumpxml vm | virt-pin resolve -'],
    exitStatus: [[0, 'resolved'], INPUT_EXIT, USAGE_EXIT],
    operands: 'files',
  },
  {
    name: 'show',
    summary: 'draw the pin map: host CPUs by node, core and sibling, and the guest threads on each',
    synopsis: ['[options] --host SRC FILE|-'],
    description: `Draw the pin map: the host's CPUs laid out by NUMA node, core and SMT
sibling, each showing which vCPUs (vN), the emulator (emu) and IOThreads
(ioN) may run there, and where the plan sends passed-through devices'
interrupts (irq DEV); cores tagged with their L3 group (L3#N) and, on
hybrid hosts, core type (P/E). Conflicts are flagged (two vCPUs pinned to
one CPU, the emulator on a vCPU's dedicated CPU, offline or missing CPUs),
and check's findings for this host are listed under the map (guest SMT
pairs off host siblings, L3 or core-type spans, overcommit).

Several files, a directory or --connect draw every domain on one map
(labels NAME:v3, a colour per domain, cross-domain conflicts flagged; see
docs/host-view.md).`,
    options: [
      { ...HOST, help: 'host facts (required): a capabilities XML file,\nsysfs[:ROOT] or local' },
      DRIVER,
      LIBVIRT,
      { long: 'svg', value: 'FILE', complete: 'file', help: 'also write the map as a self-contained SVG picture' },
      { long: 'html', value: 'FILE', complete: 'file', help: 'also write an HTML page with the picture and the\nthread table' },
      { long: 'connect', value: 'URI', help: 'read the domains from libvirt (virsh dumpxml --inactive):\n--all of them, or the NAMEs given' },
      { long: 'all', help: 'with --connect: every defined domain' },
      { long: 'live', help: 'running domains (NAME… or all): each thread on the\nCPUs the kernel allows now, * where it ran last,\ndrift marked' },
      COLOR,
      HELP,
    ],
    examples: ['virt-pin show --host local vm.xml', 'virt-pin show --host caps.xml --svg map.svg vm.xml'],
    exitStatus: [[0, 'drawn'], INPUT_EXIT, USAGE_EXIT],
    operands: 'files',
  },
  {
    name: 'pin',
    summary: 'write <cputune> (and NUMA settings) for a host from a policy, checked before it is written',
    synopsis: ['[options] --host SRC FILE|-'],
    description: `Write the pinning for a host: <vcpupin>/<emulatorpin>/<iothreadpin> (and
<vcpusched> for real-time), <numatune>, and guest NUMA cells when the guest
spans host nodes. Only those elements change; the result is resolved back
and checked before it is written. Policy defaults are in brackets.`,
    options: [
      { ...HOST, help: 'host facts (required): a capabilities XML file,\nsysfs[:ROOT] or local' },
      { long: 'output', short: 'o', value: 'FILE', complete: 'file', help: 'write to FILE (atomically) instead of stdout' },
      { long: 'in-place', help: 'rewrite FILE atomically, keeping FILE.bak' },
      { long: 'no-backup', help: 'with --in-place: no FILE.bak' },
      { long: 'dry-run', help: 'print the diff only' },
      { long: 'explain', help: "print the planner's decisions on stderr" },
      { long: 'others', value: 'SRC', multiple: true, complete: 'file', help: 'treat CPUs dedicated to other domains as taken: a\ndomain XML file, a directory, or a libvirt URI (all its\ndefined domains); repeatable' },
      LIBVIRT,
      COLOR,
      HELP,
      ...POLICY_OPTION_SPECS,
    ],
    examples: ['virt-pin pin --host local vm.xml | virsh define /dev/stdin', 'virt-pin pin --host local --emulator isolate --dry-run vm.xml', 'virt-pin pin --host caps.xml --realtime fifo:1 --in-place vm.xml'],
    exitStatus: [[0, 'pinned (or, with --dry-run, the diff printed)'], [1, 'the domain has errors, or the policy does not fit the host'], USAGE_EXIT],
    operands: 'files',
  },
  {
    name: 'define',
    summary: 'check, optionally pin, then virsh define (--validate); refuses errors unless --force',
    synopsis: ['[options] FILE|-'],
    description: `Check the domain as 'virt-pin check' does, optionally pin it (--pin), then
define it with the real virsh: 'virsh define FILE --validate' (without
--validate when the installed virsh lacks it). A domain with errors is not
defined unless --force; with --strict, warnings stop it too. Without --host
on a local connection (qemu:///system, qemu:///session, test:///default),
the host facts are read from that libvirt ('virsh capabilities'), so a pin
to a CPU the host lacks stops the define. After the define, what libvirt
stored is read back and its affinity compared with 'virt-pin normalize' (a
difference is reported as a warning: it would be a virt-pin bug).

'--connect test:///default' is libvirt's own dry run: the real parser and
validator judge the XML, and the definition vanishes when virsh exits.
stdout carries only what --print-xml or --show-libvirt ask for.`,
    options: [
      { long: 'connect', short: 'c', value: 'URI', help: "libvirt connection [virsh's default: $LIBVIRT_DEFAULT_URI,\nelse what virsh picks]" },
      { long: 'force', help: 'define even when check finds errors' },
      { long: 'strict', help: 'warnings also stop the define' },
      DRIVER,
      LIBVIRT,
      { ...HOST, help: 'host facts for check (and required by --pin on a remote\nconnection): a capabilities XML file, sysfs[:ROOT] or\nlocal; default: virsh capabilities on a local connection' },
      { long: 'dry-run', help: 'check and pin, but do not run virsh define' },
      { long: 'print-xml', help: 'write the XML that is (or would be) defined to stdout' },
      { long: 'show-libvirt', help: "write libvirt's stored XML (dumpxml --inactive) to stdout" },
      { long: 'quiet', short: 'q', help: 'on stderr, only what stops the define' },
      { long: 'pin', help: 'pin with the policy options (defaults when none)' },
      { long: 'explain', help: "with --pin: print the planner's decisions on stderr" },
      COLOR,
      HELP,
      ...POLICY_OPTION_SPECS,
    ],
    examples: [
      'virt-pin define --connect test:///default vm.xml',
      'virt-pin define --pin --host local vm.xml',
      'virt-pin define --pin --host local --vcpu shared --dry-run --print-xml vm.xml > pinned.xml',
      'virsh dumpxml vm | virt-pin define --pin --host local -',
    ],
    exitStatus: [
      [0, 'defined (or would be, with --dry-run)'],
      [1, 'refused by virt-pin or by libvirt, or what libvirt stored\ncannot be read back'],
      [2, 'usage error, no virsh, or no connection'],
    ],
    operands: 'files',
  },
  {
    name: 'export',
    summary: 'print the pinning as qemu-pinning -vcpu options or virsh commands',
    synopsis: ['--format FMT [options] FILE|-'],
    description: "Print the domain's resolved pinning in another form: the qemu-pinning\nfork's -vcpu vcpunum=N,affinity=CPU options (one CPU per vCPU), or virsh\nvcpupin/emulatorpin/iothreadpin commands.",
    options: [
      { long: 'format', value: 'FMT', choices: ['qemu-pinning', 'virsh'], help: 'qemu-pinning or virsh (required)' },
      { long: 'first', help: 'qemu-pinning: take the lowest CPU of a wider mask\ninstead of refusing it' },
      { long: 'live', help: 'virsh: apply to the running guest (with --config:\nboth)' },
      { long: 'config', help: 'virsh: apply to the definition (the default)' },
      { long: 'connect', short: 'c', value: 'URI', help: 'virsh: add -c URI to every command' },
      { long: 'name', value: 'NAME', help: 'virsh: the domain name (default: <name> of FILE)' },
      { ...HOST, help: 'host facts; qemu-pinning needs them for threads that\nmay run on all CPUs (virsh leaves those unpinned)' },
      LIBVIRT,
      HELP,
    ],
    examples: ['virt-pin export --format qemu-pinning vm.xml', 'virt-pin export --format virsh --live --config -c qemu:///system vm.xml | sh'],
    exitStatus: [[0, 'printed'], [1, 'the domain has an error, or its pinning has no form in\nthe chosen format'], USAGE_EXIT],
    operands: 'files',
  },
  {
    name: 'import',
    summary: 'turn qemu-pinning -vcpu options into <vcpupin> elements',
    synopsis: ["--from qemu-args 'ARGS' [FILE|-]"],
    description: "Read -vcpu vcpunum=N,affinity=CPU options (the qemu-pinning fork's) and\nwrite them as <vcpupin> elements: into FILE's <cputune> (replacing pins of\nthe same vCPUs; everything else unchanged), or, without FILE, as a\n<cputune> snippet.",
    options: [{ long: 'from', value: 'KIND', choices: ['qemu-args'], help: "qemu-args: the operand after it is the options' text" }, HELP],
    examples: ["virt-pin import --from qemu-args '-vcpu vcpunum=0,affinity=2 -vcpu vcpunum=1,affinity=3' vm.xml"],
    exitStatus: [[0, 'written'], [1, 'the options or the domain have an error'], USAGE_EXIT],
    operands: 'files',
  },
  {
    name: 'plan',
    summary: 'the runtime plan: thread and device IRQ affinity as JSON, a table or a shell script',
    synopsis: ['[options] FILE|-'],
    description: `Build the runtime plan for a domain: thread affinity for every online vCPU,
each IOThread and the emulator (main thread last), scheduler settings, and
IRQ affinity for every PCI <hostdev> per its policy (<vp:irq> metadata,
xmlns:vp='https://virt-pin.dev/xmlns/irq/1'; default native = untouched).`,
    options: [
      { ...HOST, help: 'host facts (makes "all CPUs" and device NUMA nodes\nconcrete)' },
      { long: 'format', value: 'FMT', choices: ['table', 'json', 'sh'], help: 'table (default), json (schemas/plan.schema.json) or sh' },
      { long: 'irq', value: 'ADDR=POLICY', multiple: true, help: "override one device's IRQ policy (auto, native or a\ncpuset); repeatable" },
      { long: 'irq-default', value: 'POLICY', help: 'override the default IRQ policy' },
      { long: 'no-threads', help: 'IRQ actions only' },
      LIBVIRT,
      COLOR,
      HELP,
    ],
    examples: ['virt-pin plan --host local vm.xml', 'virt-pin plan --format sh --irq 0000:01:00.0=auto vm.xml'],
    exitStatus: [[0, 'planned'], [1, 'the plan has errors (apply refuses such a plan), or the\ndomain XML has an error'], USAGE_EXIT],
    operands: 'files',
  },
  {
    name: 'apply',
    summary: 'apply a plan to a running QEMU atomically (snapshot, write, read back, roll back)',
    synopsis: ['[options] FILE|PLAN.json (--pid PID | --domain NAME)'],
    description: `Apply a runtime plan to a running QEMU. Every target's current affinity is
recorded in a state file first (/run/virt-pin/ENC.json by default, ENC
being NAME percent-encoded, see docs/runtime-plan.md); any
failure rolls back what was changed, in reverse order. Re-applying the same
plan changes nothing; 'virt-pin restore NAME' puts the recorded masks back.

With --domain, thread pins go through libvirt's live API (virsh vcpupin,
emulatorpin, iothreadpin --live), which widens libvirt's per-thread cgroups
and keeps its live definition in step; IRQs are written directly. With
--pid (or --threads direct) threads are pinned in-process with
sched_setaffinity.`,
    options: [
      { long: 'pid', value: 'PID', help: 'the QEMU process (threads pinned directly); decimal digits' },
      { long: 'domain', value: 'NAME', help: 'a running libvirt domain' },
      { long: 'connect', value: 'URI', help: 'libvirt URI for --domain (default $LIBVIRT_DEFAULT_URI,\nelse qemu:///system)' },
      { long: 'threads', value: 'MODE', choices: ['libvirt', 'direct'], help: 'libvirt (default with --domain) or direct (PID from\n/run/libvirt/qemu/NAME.pid)' },
      { long: 'qmp', value: 'SOCKET', complete: 'file', help: 'thread ids from QMP instead of thread names (direct only)' },
      { long: 'cgroups', help: "direct only: widen a thread's own cpuset cgroup first\nwhen the new CPUs lie outside it, as libvirt does" },
      { ...HOST, help: 'host facts when FILE is domain XML' },
      { long: 'irq', value: 'ADDR=POLICY', multiple: true, help: 'IRQ policy override (as for plan); repeatable' },
      { long: 'irq-default', value: 'POLICY', help: 'default IRQ policy override' },
      { ...LIBVIRT, help: "when FILE is domain XML: plan as this libvirt release\ndoes (default: the local libvirt's version)" },
      { long: 'state-dir', value: 'DIR', complete: 'dir', help: 'where the state file goes' },
      { long: 'strict', help: 'kernel-managed IRQs fail the apply instead of being\nskipped' },
      { long: 'dry-run', help: 'discover and compare only; write nothing' },
      { long: 'wait-irqs', value: 'SECONDS', help: 'then keep the plan in force for up to SECONDS (at most\n3600) as MSI-X vectors and threads appear' },
      { long: 'watch', help: 'then keep the plan in force until QEMU exits' },
      { long: 'interval', value: 'MS', help: 'time between polls for --wait-irqs/--watch\n(default 1000)' },
      { long: 'json', help: 'print the report as JSON (one line per round when\nwatching)' },
      HELP,
    ],
    examples: ['virt-pin apply --domain vm vm.xml', 'virt-pin plan --host local --format json vm.xml > plan.json && virt-pin apply --pid 4242 plan.json'],
    exitStatus: [[0, 'applied (or nothing to do; a watch that ended)'], [1, 'failed and rolled back'], [2, 'usage error, or a file that cannot be read']],
    operands: 'files',
  },
  {
    name: 'restore',
    summary: 'put back the affinities apply recorded for a domain',
    synopsis: ['[options] NAME'],
    description: `Restore the thread and IRQ affinities that 'virt-pin apply' recorded for
domain NAME, in reverse order, then remove the state files. IRQs whose
number now belongs to another device are left alone. Thread pins set
through libvirt are put back through libvirt (the URI recorded at apply,
or --connect); a domain restarted since has its pins from its definition
and is left alone. Nothing recorded: nothing to do.`,
    options: [
      { long: 'state-dir', value: 'DIR', complete: 'dir', help: 'where apply wrote the state file' },
      { long: 'connect', value: 'URI', help: 'libvirt URI for pins set through libvirt' },
      { long: 'json', help: 'print the report as JSON' },
      HELP,
    ],
    examples: ['virt-pin restore vm', 'virt-pin restore --state-dir /tmp/vp vm'],
    exitStatus: [[0, 'restored, or nothing recorded'], [1, 'some targets could not be restored, or the state is\nrefused'], [2, 'usage error']],
    operands: 'name',
  },
  {
    name: 'hook',
    summary: "libvirt's qemu hook: install it, or run as it (check at prepare, IRQs at start, restore at stop)",
    synopsis: ['install [--dir DIR] [--lib-dir LIB] [--budget SECONDS]', 'uninstall [--dir DIR]', 'status [--dir DIR]', 'exec NAME OPERATION SUB-OPERATION [EXTRA]'],
    description: `install copies this CLI to LIB/<version>/ (LIB default
/usr/local/lib/virt-pin, or $VIRT_PIN_LIB_DIR) and puts an executable
'virt-pin' wrapper that runs that copy into DIR/qemu.d (DIR default
/etc/libvirt/hooks), both atomically; it refuses to overwrite files it did
not install and says whether libvirtd must be restarted. Run it again to
upgrade, or after changing "enforce". The wrapper fails open: when the copy
cannot run (node or the copy missing, a crash, over the time budget) it
logs why and exits 0, except at prepare/begin when enforce was on at
install. uninstall removes the wrapper and the copy it runs (only what
virt-pin installed). status shows what is installed where, whether it runs,
and the configuration, validated. exec is the hook itself, run by libvirt:
prepare/begin checks (and with "enforce" refuses), started/begin applies
IRQ affinity, release/end and stopped/end restore, reconnect/begin keeps
state; migrate, restore and save pass the XML through byte for byte; other
operations do nothing.

Configuration: /etc/virt-pin/config.json (or $VIRT_PIN_CONFIG), see
schemas/config.schema.json. $VIRT_PIN_HOST_ROOT points /proc, /sys and /run
at another root (tests, containers). Log lines go to stderr and to the
system log (logger -t virt-pin; VIRT_PIN_SYSLOG=0 turns that off).`,
    options: [
      { long: 'dir', value: 'DIR', complete: 'dir', help: 'install, uninstall, status: the hooks directory\n(default /etc/libvirt/hooks)' },
      { long: 'lib-dir', value: 'LIB', complete: 'dir', help: 'install: where the copy of the CLI goes\n(default /usr/local/lib/virt-pin)' },
      { long: 'budget', value: 'SECONDS', help: 'install: wall-clock bound of one hook call; past it the\ncall is killed and fails open (default 20)' },
      HELP,
    ],
    examples: ['virt-pin hook install', 'virt-pin hook status', 'virt-pin hook uninstall --dir /etc/libvirt/hooks'],
    exitStatus: [[0, 'done; exec: the operation may go on'], [1, 'failed; exec: libvirt stops the operation (prepare);\nstatus: something is wrong'], [2, 'usage error']],
    subcommands: ['install', 'uninstall', 'status', 'exec'],
    operands: 'none',
  },
  {
    name: 'status',
    summary: 'running domains: every thread and device IRQ, intended vs libvirt vs kernel, drift and its cause',
    synopsis: ['[options] [NAME… | --all]'],
    description: `For running domains: every thread of the QEMU process (vCPUs, IOThreads,
emulator main and helper threads, vhost and KVM kernel threads) with the CPU
mask its definition intends, libvirt's live pin, the kernel's mask, the CPU
it last ran on and its CPU share; every IRQ of the passed-through devices
against virt-pin's IRQ policy. Drift (intended ≠ actual) is listed first,
with its likely cause. Read-only; virsh calls are bounded by --timeout.
See docs/host-view.md.`,
    options: [
      { long: 'all', help: 'every running domain (default when no NAME is given)' },
      { long: 'connect', value: 'URI', help: 'libvirt URI (default $LIBVIRT_DEFAULT_URI, else\nqemu:///system)' },
      { long: 'xml', value: 'FILE', multiple: true, complete: 'file', help: 'take the definition from FILE instead of libvirt\n(repeatable); the LIBVIRT column stays empty' },
      { long: 'interval', value: 'S', help: 'measure CPU share over S seconds (default 1; 0 skips)' },
      { long: 'format', value: 'FMT', choices: ['human', 'json', 'prometheus'], help: 'human (default), json (schemas/status.schema.json) or\nprometheus (node_exporter textfile collector format)' },
      { long: 'watch', value: 'S', help: 'redraw every S seconds in place until interrupted' },
      { long: 'root', value: 'DIR', complete: 'dir', help: 'read /proc, /sys and /run under DIR (a captured host)' },
      { long: 'state-dir', value: 'DIR', complete: 'dir', help: "virt-pin apply's state directory (default RUN/virt-pin)" },
      { long: 'timeout', value: 'S', help: 'bound on each virsh call (default 10)' },
      LIBVIRT,
      HELP,
    ],
    examples: ['virt-pin status --all', 'virt-pin status --format prometheus --interval 0 > virt-pin.prom', 'virt-pin status --watch 2 win11'],
    exitStatus: [[0, 'no drift'], [1, 'drift'], [2, 'usage error, or a domain that cannot be read (not running,\nlibvirt unreachable)']],
    operands: 'name',
  },
  {
    name: 'normalize',
    summary: 'rewrite the affinity elements as libvirt would store them (--diff to preview)',
    synopsis: ['[options] FILE|-'],
    description: `Print the domain with <vcpu>, <vcpus>, <iothreads>, <iothreadids>,
<defaultiothread>, <cputune>, <numatune> and guest NUMA cells written the
way libvirt stores them after define (canonical cpusets, dropped pins,
promoted placement, exploded sched groups, …); every other byte stays.`,
    options: [
      { long: 'diff', help: 'print a unified diff of what libvirt would change\ninstead' },
      DRIVER,
      LIBVIRT,
      { long: 'output', short: 'o', value: 'FILE', complete: 'file', help: 'write the result to FILE (atomically) instead of stdout' },
      COLOR,
      HELP,
    ],
    examples: ['virt-pin normalize vm.xml', 'virt-pin normalize --diff /etc/libvirt/qemu/vm.xml'],
    exitStatus: [[0, 'written; with --diff: libvirt would change nothing'], [1, 'with --diff: libvirt would change something; or the\ndomain XML has an error'], USAGE_EXIT],
    operands: 'files',
  },
  {
    name: 'completion',
    summary: 'print a shell completion script for bash, zsh or fish',
    synopsis: ['bash|zsh|fish'],
    description: `Print the completion script for a shell, generated from the same command
table as --help. Install it where the shell looks for completions, e.g.
  virt-pin completion bash > /etc/bash_completion.d/virt-pin
  virt-pin completion zsh > "\${fpath[1]}/_virt-pin"
  virt-pin completion fish > ~/.config/fish/completions/virt-pin.fish`,
    options: [HELP],
    examples: ['source <(virt-pin completion bash)'],
    exitStatus: [[0, 'printed'], [2, 'usage error']],
    subcommands: ['bash', 'zsh', 'fish'],
    operands: 'none',
  },
  {
    name: 'help',
    summary: 'print the help of a command (virt-pin help check)',
    synopsis: ['[COMMAND]'],
    description: 'Print the help of COMMAND, the same as virt-pin COMMAND --help; without\nCOMMAND, the list of commands.',
    options: [],
    examples: ['virt-pin help check'],
    exitStatus: [[0, 'printed'], [2, 'no such command']],
    operands: 'none',
  },
];

export function commandSpec(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** node:util parseArgs options for a command, from its table entry. */
export function parseOptionsOf(name: string): Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> {
  const out: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const o of commandSpec(name)!.options) out[o.long] = { type: o.value ? 'string' : 'boolean', ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
  return out;
}

/** `-o, --output FILE` */
export function optionLabel(o: OptionSpec): string {
  return `${o.short ? `-${o.short}, ` : ''}--${o.long}${o.value ? ` ${o.value}` : ''}`;
}

/** `--help`: usage, description, options (by group), examples, exit status — the same sections for every command. */
export function renderHelp(spec: CommandSpec): string {
  const usage = spec.synopsis.map((s, i) => `${i === 0 ? 'usage: ' : '       '}virt-pin ${spec.name} ${s}`);
  const out = [...usage, '', spec.description, ''];
  const groups = new Map<string, OptionSpec[]>();
  for (const o of spec.options) groups.set(o.group ?? 'options', [...(groups.get(o.group ?? 'options') ?? []), o]);
  const width = Math.min(24, Math.max(0, ...spec.options.map((o) => optionLabel(o).length)) + 2);
  for (const [group, options] of groups) {
    out.push(`${group}:`);
    for (const o of options) {
      const [first, ...rest] = o.help.split('\n');
      const label = optionLabel(o);
      if (label.length + 2 > width) out.push(`  ${label}`, `  ${' '.repeat(width)}${first}`);
      else out.push(`  ${label.padEnd(width)}${first}`);
      for (const line of rest) out.push(`  ${' '.repeat(width)}${line}`);
    }
    out.push('');
  }
  if (spec.options.length === 0) out.push('options:', '  (none)', '');
  out.push('examples:', ...spec.examples.map((e) => `  ${e}`), '');
  out.push('exit status:');
  for (const [status, meaning] of spec.exitStatus) out.push(`  ${status}  ${meaning.split('\n').join('\n     ')}`);
  return out.join('\n') + '\n';
}

/** The global help: commands and their summaries. */
export function renderMainHelp(): string {
  const shown = COMMANDS.filter((c) => !c.hidden);
  const width = Math.max(...shown.map((c) => c.name.length));
  return [
    'usage: virt-pin <command> [options] [FILE…]',
    '       virt-pin help <command>',
    '',
    'Resolve libvirt domain CPU affinity exactly as libvirt does.',
    '',
    'commands:',
    ...shown.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'options:',
    '  -h, --help     this help (virt-pin <command> --help for a command)',
    '  -V, --version  print the version',
    '',
    'exit status:',
    '  0  success; 1  findings or failure (per command); 2  usage error',
    '',
  ].join('\n');
}
