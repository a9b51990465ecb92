import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'
import { buildPublication, makeFixture, publish, startContentServer, type ContentFixture, type ContentServer } from '../support/content-tree'

const CHROMIUM = '/usr/bin/chromium'
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent (apt-get install -y chromium)`

describe('the HTML listing in headless Chromium', () => {
  let fx: ContentFixture
  let srv: ContentServer
  let browser: Browser | undefined

  before(async () => {
    fx = await makeFixture()
    await publish(fx.dataDir, 'http', 'repo', await buildPublication(fx.dataDir, '1', {
      'top.txt': 'top',
      'sub/inner.txt': 'inner',
      'sub/deeper/leaf.txt': 'leaf',
      'sub/<img src=x onerror=alert(1)>.txt': 'x'
    }))
    srv = await startContentServer(fx.dataDir)
    if (skip === false) {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
          '--disable-background-networking', '--disable-component-update', '--disable-sync']
      })
    }
  })
  after(async () => {
    await browser?.close()
    await srv.close()
    await fx.cleanup()
  })

  it('opens a listing, follows a link to a subdirectory and shows its entries', { skip }, async () => {
    assert.ok(browser)
    const page = await browser.newPage()
    const dialogs: string[] = []
    page.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss() })

    await page.goto(`${srv.origin}/content/repo/`)
    assert.equal(await page.title(), 'Index of /content/repo/')
    assert.deepEqual(await page.locator('tbody a').allTextContents(), ['../', 'sub/', 'PULP_MANIFEST', 'top.txt'])

    await page.click('text=sub/')
    await page.waitForURL(`${srv.origin}/content/repo/sub/`)
    assert.equal(await page.title(), 'Index of /content/repo/sub/')
    assert.equal(await page.locator('h1').textContent(), 'Index of /content/repo/sub/')
    assert.deepEqual(await page.locator('tbody a').allTextContents(), [
      '../', 'deeper/', '<img src=x onerror=alert(1)>.txt', 'inner.txt'
    ])
    assert.equal(await page.locator('img').count(), 0, 'a file name became markup')
    assert.deepEqual(dialogs, [])

    await page.click('text=inner.txt')
    await page.waitForURL(`${srv.origin}/content/repo/sub/inner.txt`)
    assert.equal(await page.locator('body').textContent(), 'inner')

    await page.goBack()
    await page.click('text=../')
    await page.waitForURL(`${srv.origin}/content/repo/`)
    assert.equal(await page.title(), 'Index of /content/repo/')
    await page.close()
  })
})
