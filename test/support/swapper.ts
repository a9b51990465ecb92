import { spawn, type ChildProcess } from 'node:child_process'
import { link, lstat, mkdir, rename, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'

/*
 * Runs in its own process, so that the server's event loop is not the one swapping: as fast as
 * it can, it puts at `file` in turn the original file (a hard link kept aside, same inode), a
 * symlink to the secret, and (renaming the file's directory away) a symlink from that directory
 * to an outside one holding a regular file of the same name with the secret in it.
 */
const SWAP_LOOP = `
const fs = require('node:fs')
const [file, original, secret, outsideDir] = process.argv.slice(1)
const dir = require('node:path').dirname(file)
let i = 0
process.stdout.write('swapping\\n')
for (;;) {
  const tmp = file + '.swap' + (i++)
  try {
    switch (i % 4) {
      case 0: fs.linkSync(original, tmp); fs.renameSync(tmp, file); break
      case 1: fs.symlinkSync(secret, tmp); fs.renameSync(tmp, file); break
      case 2: fs.linkSync(original, tmp); fs.renameSync(tmp, file); fs.renameSync(dir, dir + '.away'); fs.symlinkSync(outsideDir, dir); break
      case 3: fs.unlinkSync(dir); fs.renameSync(dir + '.away', dir); break
    }
  } catch (err) {
    process.stderr.write(String(err) + '\\n')
  }
}
`

export interface Swapper {
  /** SIGKILLs the loop, then puts the original file and its directory back. */
  stop: () => Promise<void>
}

/**
 * Starts swapping `file` (a regular file inside the tree) with ways out of the tree that lead
 * to `secret` (bytes that must never be served); resolves once the loop runs.
 */
export async function startSwapper (file: string, secret: string, scratch: string): Promise<Swapper> {
  const original = path.join(scratch, 'original')
  await link(file, original)
  const secretFile = path.join(scratch, 'secret')
  await writeFile(secretFile, secret)
  const outsideDir = path.join(scratch, 'outside')
  await mkdir(outsideDir, { recursive: true })
  await writeFile(path.join(outsideDir, path.basename(file)), secret)
  const child: ChildProcess = spawn(process.execPath, ['-e', SWAP_LOOP, file, original, secretFile, outsideDir], { stdio: ['ignore', 'pipe', 'ignore'] })
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve())
    child.once('exit', (code) => reject(new Error(`the swapper exited with ${code}`)))
  })
  return {
    stop: async () => {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      child.kill('SIGKILL')
      await exited
      const dir = path.dirname(file)
      const away = `${dir}.away`
      if (await lstat(away).then(() => true, () => false)) {
        // A symlink, or a directory made meanwhile by a server that saved the file again.
        await rm(dir, { recursive: true, force: true })
        await rename(away, dir)
      }
      // A server that pulled the file again meanwhile may have put it back already (or is
      // about to): the original replaces whatever is there in one rename.
      const back = `${file}.back`
      await rm(back, { force: true })
      await link(original, back)
      await rename(back, file)
    }
  }
}

export interface RaceResult {
  /** Requests by status. */
  statuses: Map<number, number>
  /** Responses that carried the secret (or its start). */
  leaked: number
  /** 200s whose body was not the file's. */
  wrong: number
}

/**
 * Sends `count` requests, `concurrency` at a time, while `file` is swapped (see startSwapper),
 * and counts what came back. The swapper is stopped (and the file put back) before it resolves.
 */
export async function raceSwapper (
  swapped: { file: string, secret: string, scratch: string, expected: Buffer },
  count: number,
  get: () => Promise<{ status: number, body: Buffer }>,
  concurrency = 8
): Promise<RaceResult> {
  const swapper = await startSwapper(swapped.file, swapped.secret, swapped.scratch)
  const result: RaceResult = { statuses: new Map(), leaked: 0, wrong: 0 }
  const mark = swapped.secret.slice(0, 10)
  try {
    let next = 0
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++
        const res = await get()
        result.statuses.set(res.status, (result.statuses.get(res.status) ?? 0) + 1)
        if (res.body.toString('latin1').includes(mark)) result.leaked++
        else if (res.status === 200 && !res.body.equals(swapped.expected)) result.wrong++
      }
    }))
  } finally {
    await swapper.stop()
  }
  return result
}
