// A pulp-middleware server in its own process, so a test can see which modules serving loaded
// (the test's own process has loaded zod long before). Prints its port on stdout; GET /zod
// answers whether zod is loaded.
import path from 'node:path'
import express from 'express'
import { pulpMiddleware } from '../../lib'

async function main (): Promise<void> {
  const pulp = pulpMiddleware({ dataDir: process.argv[2] })
  const app = express()
  app.use('/pulp', pulp)
  app.get('/zod', (_req, res) => {
    res.json({ loaded: Object.keys(require.cache).some((file) => file.includes(`${path.sep}node_modules${path.sep}zod${path.sep}`)) })
  })
  await pulp.ready
  const server = app.listen(0, '127.0.0.1', () => {
    const address = server.address()
    console.log(`port ${typeof address === 'object' && address !== null ? address.port : 0}`)
  })
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
