import fs from "node:fs";

export interface ProcessMemory {
  /** Resident set size now (VmRSS), bytes. */
  rss: number;
  /** Peak resident set size (VmHWM), bytes: since start, or since the last resetPeakRss. */
  hwm: number;
}

/** Reads VmRSS and VmHWM of a Linux process from /proc/<pid>/status. */
export function readProcessMemory(pid: number): ProcessMemory {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    if (!match) throw new Error(`/proc/${pid}/status has no ${field}`);
    return Number(match[1]) * 1024;
  };
  return { rss: kib("VmRSS"), hwm: kib("VmHWM") };
}

/**
 * Resets VmHWM to the current RSS (writing "5" to /proc/<pid>/clear_refs, Linux ≥ 4.0), so the
 * peak afterwards covers only what follows. Returns false where that is not allowed.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

export interface RssSampler {
  /**
   * Stops sampling (idempotent); returns the highest sampled RSS and the kernel's peak (VmHWM)
   * as of the first call.
   */
  stop(): { sampledPeak: number; hwm: number; samples: number };
}

/** Samples a process's RSS every `intervalMs` (50 ms by default). */
export function sampleRss(pid: number, intervalMs = 50): RssSampler {
  let sampledPeak = 0;
  let samples = 0;
  const sample = () => {
    try {
      sampledPeak = Math.max(sampledPeak, readProcessMemory(pid).rss);
      samples++;
    } catch {
      // The process went away; the caller finds out from its own requests.
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  let result: ReturnType<RssSampler["stop"]> | undefined;
  return {
    stop() {
      if (result) return result;
      clearInterval(timer);
      sample();
      let hwm = 0;
      try {
        hwm = readProcessMemory(pid).hwm;
      } catch {}
      result = { sampledPeak, hwm, samples };
      return result;
    },
  };
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ, 100 on every Linux architecture Node runs on

/** CPU time (user and system, seconds) a process has used so far; zeros if it is gone. */
export function cpuTimes(pid: number): { user: number; system: number } {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { user: Number(fields[11]) / CLOCK_TICKS_PER_SECOND, system: Number(fields[12]) / CLOCK_TICKS_PER_SECOND };
  } catch {
    return { user: 0, system: 0 };
  }
}

/**
 * CPU seconds used so far by a process and its children, the exited ones included (their time
 * is added to the parent's when it reaps them): e.g. PostgreSQL, whose backends come and go.
 */
export function processTreeCpuSeconds(pid: number): number {
  let total = 0;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime, stime, cutime, cstime
    total += [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
  for (const child of childPids(pid)) {
    const { user, system } = cpuTimes(child);
    total += user + system;
  }
  return total;
}

/** The pids of `pid`'s direct children (e.g. PostgreSQL's backends under its postmaster). */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

/**
 * Measures CPU seconds used by groups of processes (and by this process, as "client") between
 * the call and stop(). Keys: the group names with user + system time, and "<name> sys" with the
 * system (kernel) part.
 */
export function cpuMeter(groups: Record<string, number[]>) {
  const total = (pids: number[]) =>
    pids.map(cpuTimes).reduce((sum, t) => ({ user: sum.user + t.user, system: sum.system + t.system }), { user: 0, system: 0 });
  const before = Object.fromEntries(Object.entries(groups).map(([name, pids]) => [name, total(pids)]));
  const selfBefore = process.cpuUsage();
  return {
    stop(): Record<string, number> {
      const self = process.cpuUsage(selfBefore);
      const used: Record<string, number> = { client: (self.user + self.system) / 1e6, "client sys": self.system / 1e6 };
      for (const [name, pids] of Object.entries(groups)) {
        const now = total(pids);
        used[name] = now.user + now.system - before[name]!.user - before[name]!.system;
        used[`${name} sys`] = now.system - before[name]!.system;
      }
      return used;
    },
  };
}

export interface IoCounters {
  /** Bytes passed to read-like / write-like syscalls (files, sockets, pipes). */
  rchar: number;
  wchar: number;
  /** Number of read-like / write-like syscalls. */
  syscr: number;
  syscw: number;
}

/** /proc/<pid>/io: how many read and write syscalls a process made, and how many bytes they moved. */
export function readIoCounters(pid: number): IoCounters | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/io`, "utf8");
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? NaN);
    return { rchar: field("rchar"), wchar: field("wchar"), syscr: field("syscr"), syscw: field("syscw") };
  } catch {
    return null;
  }
}

export function ioDelta(before: IoCounters | null, after: IoCounters | null): IoCounters | undefined {
  if (!before || !after) return undefined;
  return {
    rchar: after.rchar - before.rchar,
    wchar: after.wchar - before.wchar,
    syscr: after.syscr - before.syscr,
    syscw: after.syscw - before.syscw,
  };
}
