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
  app.get('/', (_req, res) => { res.redirect('/pulp/') })
  await pulp.ready

  const server = app.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
    const address = server.address()
    const port = typeof address === 'object' && address !== null ? address.port : 8080
    const base = `http://127.0.0.1:${port}/pulp`
    console.log(`pulp-middleware demo listening on ${base}`)
    console.log(`  ${base}/api/v1/status         the API (loopback clients only)`)
    console.log(`  ${base}/api/v1/openapi.json   its OpenAPI description`)
    console.log(`  ${base}/content/              published content`)
    console.log('  README.md "Quick start": from an upload to a download with curl')
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
