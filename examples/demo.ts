/**
 * The demo server behind `npm start`: pulp-middleware mounted at /pulp in a plain Express app,
 * on the embedded SQLite default. PORT (default 8080) and PULP_DATA_DIR (default ./pulp-data)
 * change where it listens and what it keeps.
 */
import express from 'express'
import { pulpMiddleware } from '../lib'

async function main (): Promise<void> {
  const app = express()
  const pulp = pulpMiddleware({ dataDir: process.env.PULP_DATA_DIR ?? './pulp-data' })
  app.use('/pulp', pulp)
  app.get('/', (_req, res) => { res.type('text').send('pulp-middleware demo: API at /pulp/api/v1, content at /pulp/content/\n') })
  await pulp.ready

  const server = app.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
    const address = server.address()
    const port = typeof address === 'object' && address !== null ? address.port : 8080
    const base = `http://127.0.0.1:${port}/pulp`
    console.log(`pulp-middleware demo listening on ${base}`)
    console.log(`  curl -X POST -H 'Content-Type: application/json' -d '{"id":"demo"}' ${base}/api/v1/repositories`)
    console.log(`  curl -F file=@README.md ${base}/api/v1/repositories/demo/content`)
    console.log(`  curl ${base}/api/v1/repositories/demo/content`)
  })

  const stop = (): void => {
    server.close()
    pulp.close().then(() => process.exit(0), () => process.exit(1))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
