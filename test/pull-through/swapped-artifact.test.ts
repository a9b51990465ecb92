import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { mkdir, mkdtemp, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { dialects } from '../support/databases'
import { serveFile, testBytes } from '../support/upstream-faults'
import { sha256, startPullThrough, type PullThroughFixture } from '../support/upstream-pulp'
import { raceSwapper } from '../support/swapper'

// A warm HIT remembers its artifact's stat and opens the artifact without looking at its path
// again. An artifact replaced by a way out of `artifacts/` must never be followed: 404, and no
// byte of the outside file.
for (const d of dialects()) {
  describe(`pull-through HIT of an artifact swapped for a way out (${d.name})`, { skip: d.skip }, () => {
    let f: PullThroughFixture
    let outside: string
    const secret = `OUTSIDE-SECRET-${randomBytes(8).toString('hex')}`
    before(async () => {
      f = await startPullThrough({ dialect: d.name })
      await f.wire('mirror')
      outside = await mkdtemp(path.join(os.tmpdir(), 'pulp-outside-'))
      await writeFile(path.join(outside, 'secret.txt'), secret)
    })
    after(async () => {
      await f?.cleanup()
      await rm(outside, { recursive: true, force: true })
    })

    const artifactOf = (body: Buffer): string => {
      const digest = sha256(body)
      return path.join(f.t.dataDir, 'artifacts', digest.slice(0, 2), digest.slice(2))
    }
    /** Pulled, then served as a HIT three times (the stat is remembered from the first). */
    const warm = async (name: string, body: Buffer): Promise<void> => {
      await f.get(`mirror/${name}`)
      await f.untilHit(`mirror/${name}`)
      for (let i = 0; i < 3; i++) {
        const hit = await f.get(`mirror/${name}`)
        assert.equal(hit.headers['x-pulp-cache'], 'HIT')
        assert.ok(hit.body.equals(body), name)
      }
    }
    const refused = async (name: string): Promise<void> => {
      for (let i = 0; i < 20; i++) {
        const res = await f.get(`mirror/${name}`)
        assert.ok(!res.body.toString().includes(secret), `the outside file was served (request ${i + 1})`)
        assert.equal(res.status, 404)
      }
    }

    it('refuses an artifact replaced by a symlink to a file outside, and serves it once it is back', async () => {
      const body = testBytes(5000)
      f.upstream.on('/files/link.bin', serveFile(body))
      await warm('link.bin', body)
      const file = artifactOf(body)
      await rename(file, `${file}.kept`)
      await symlink(path.join(outside, 'secret.txt'), file)
      await refused('link.bin')
      await unlink(file)
      await rename(`${file}.kept`, file)
      const back = await f.get('mirror/link.bin')
      assert.equal(back.headers['x-pulp-cache'], 'HIT')
      assert.ok(back.body.equals(body))
      assert.equal(f.upstream.hits('/files/link.bin'), 1)
    })

    it('refuses an artifact whose directory was replaced by a symlink to an outside directory', async () => {
      const body = testBytes(6000)
      f.upstream.on('/files/dir.bin', serveFile(body))
      await warm('dir.bin', body)
      const file = artifactOf(body)
      const elsewhere = path.join(outside, 'dir')
      await mkdir(elsewhere)
      await writeFile(path.join(elsewhere, path.basename(file)), secret)
      await rename(path.dirname(file), `${path.dirname(file)}.kept`)
      await symlink(elsewhere, path.dirname(file))
      try {
        await refused('dir.bin')
      } finally {
        await unlink(path.dirname(file))
        await rename(`${path.dirname(file)}.kept`, path.dirname(file))
      }
    })

    it('never sends a byte of the outside file while a swapper races 1,000 HITs', async () => {
      const body = testBytes(3000)
      f.upstream.on('/files/race.bin', serveFile(body))
      await warm('race.bin', body)
      const scratch = path.join(outside, 'swapper')
      await mkdir(scratch)
      const { statuses, leaked, wrong } = await raceSwapper({ file: artifactOf(body), secret, scratch, expected: body },
        1000, async () => await f.get('mirror/race.bin'))
      assert.equal(leaked, 0, `the outside file was served ${leaked} times`)
      assert.equal(wrong, 0)
      // While the directory is away the artifact is gone: the path is pulled again, and a save
      // that meets the swapped directory answers 502 ("saved elsewhere but cannot be read").
      assert.deepEqual([...statuses.keys()].filter((s) => s !== 200 && s !== 404 && s !== 502), [], `statuses: ${JSON.stringify([...statuses])}`)
      assert.ok((statuses.get(200) ?? 0) > 0, 'the race served the artifact at times')
      // A pull the race started (while the directory was away) may still be finishing when the
      // swapper stops: its requests follow it (MISS) until it is saved, then the file is a HIT.
      await f.untilHit('mirror/race.bin')
      const after = await f.get('mirror/race.bin')
      assert.equal(after.headers['x-pulp-cache'], 'HIT')
      assert.ok(after.body.equals(body))
    })
  })
}
