// A pulp-middleware server in its own process, so a test can read its peak memory. Prints its
// port on stdout; GET /rss answers the peak and current resident set size in bytes.
import express from 'express'
import { pulpMiddleware } from '../../lib'

async function main (): Promise<void> {
  const pulp = pulpMiddleware({ dataDir: process.argv[2] })
  const app = express()
  app.use('/pulp', pulp)
  app.get('/rss', (_req, res) => {
    res.json({ peak: process.resourceUsage().maxRSS * 1024, rss: process.memoryUsage.rss() })
  })
  await pulp.ready
  await pulp.repositories.create({ id: 'big' })
  const server = app.listen(0, '127.0.0.1', () => {
    const address = server.address()
    console.log(typeof address === 'object' && address !== null ? address.port : 0)
  })
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
