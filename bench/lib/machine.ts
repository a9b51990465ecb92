/** What the figures were measured on: they only compare within one run on one machine. */
import os from 'node:os'

export interface Machine {
  cpu: string
  cores: number
  memoryGiB: number
  node: string
  os: string
  arch: string
}

export function describeMachine (): Machine {
  const cpus = os.cpus()
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30 * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    arch: os.arch()
  }
}

export function loadAverage (): [number, number, number] {
  const [a, b, c] = os.loadavg()
  return [Number(a.toFixed(2)), Number(b.toFixed(2)), Number(c.toFixed(2))]
}

export function formatMachine (m: Machine): string {
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os} (${m.arch}), Node ${m.node}`
}
