import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { chromium, type Browser } from 'playwright-core'
import { skipUnless, startSite, type PublishedSite } from '../support/clients'

const CHROMIUM = '/usr/bin/chromium'
const skip = skipUnless('chromium')

describe('headless Chromium on a published tree', { skip }, () => {
  let site: PublishedSite
  let browser: Browser | undefined

  before(async () => {
    site = await startSite({ relativeUrl: 'repo' })
    await site.publish({
      'top.txt': 'top',
      'sub/inner.txt': 'inner',
      'sub/deeper/leaf.txt': 'leaf',
      'sub/<img src=x onerror=alert(1)>.txt': 'x',
      'site/index.html': '<!DOCTYPE html><title>A published page</title><p id="p">served as itself</p>'
    })
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync']
    })
  })
  after(async () => {
    await browser?.close()
    await site?.close()
  })

  it('opens a listing, follows a link to a subdirectory and shows its entries', async () => {
    assert.ok(browser)
    const page = await browser.newPage()
    const dialogs: string[] = []
    page.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss() })

    await page.goto(`${site.url}/`)
    assert.equal(await page.title(), 'Index of /pulp/content/repo/')
    assert.deepEqual(await page.locator('tbody a').allTextContents(), ['../', 'site/', 'sub/', 'PULP_MANIFEST', 'top.txt'])

    await page.click('text=sub/')
    await page.waitForURL(`${site.url}/sub/`)
    assert.equal(await page.title(), 'Index of /pulp/content/repo/sub/')
    assert.equal(await page.locator('h1').textContent(), 'Index of /pulp/content/repo/sub/')
    assert.deepEqual(await page.locator('tbody a').allTextContents(), [
      '../', 'deeper/', '<img src=x onerror=alert(1)>.txt', 'inner.txt'
    ])
    assert.equal(await page.locator('img').count(), 0, 'a file name became markup')
    assert.deepEqual(dialogs, [])

    await page.click('text=inner.txt')
    await page.waitForURL(`${site.url}/sub/inner.txt`)
    assert.equal(await page.locator('body').textContent(), 'inner')

    await page.goBack()
    await page.click('text=../')
    await page.waitForURL(`${site.url}/`)
    assert.equal(await page.title(), 'Index of /pulp/content/repo/')
    await page.close()
  })

  it('shows a directory\'s index.html instead of its listing, reached from the listing', async () => {
    assert.ok(browser)
    const page = await browser.newPage()
    await page.goto(`${site.url}/`)
    await page.click('text=site/')
    await page.waitForURL(`${site.url}/site/`)
    assert.equal(await page.title(), 'A published page')
    assert.equal(await page.locator('#p').textContent(), 'served as itself')
    await page.close()
  })

  it('shows the landing page at the mount point, whose links lead to the API and the content', async () => {
    assert.ok(browser)
    const page = await browser.newPage()
    await page.goto(`${site.origin}/pulp`)
    assert.match(await page.title(), /^pulp-middleware /)
    await page.click('text=Published content')
    await page.waitForURL(`${site.origin}/pulp/content/`)
    assert.equal(await page.title(), 'Index of /pulp/content/')
    assert.deepEqual(await page.locator('tbody a').allTextContents(), ['repo/'])
    await page.goBack()
    await page.click('text=API status')
    await page.waitForURL(`${site.origin}/pulp/api/v1/status`)
    assert.match(await page.locator('body').textContent() ?? '', /"database"/)
    await page.close()
  })
})
