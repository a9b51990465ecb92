import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import { ValidationError } from '../../lib/errors'
import { Memo } from '../../lib/plugins/memo'
import { OriginBound, requestOrigin } from '../../lib/plugins/npm/origin'

function request (host: string | undefined, extra: Record<string, unknown> = {}): IncomingMessage {
  return { headers: host === undefined ? {} : { host }, socket: {}, ...extra } as unknown as IncomingMessage
}

describe('requestOrigin', () => {
  it('is the scheme and Host, one spelling per origin', () => {
    assert.equal(requestOrigin(request('127.0.0.1:8080')), 'http://127.0.0.1:8080')
    assert.equal(requestOrigin(request('Mirror.Example:80')), 'http://mirror.example')
    assert.equal(requestOrigin(request('[::1]:3000')), 'http://[::1]:3000')
    assert.equal(requestOrigin(request('h.example', { socket: { encrypted: true } })), 'https://h.example')
  })

  it('follows Express (req.protocol, req.host), so trust proxy decides', () => {
    assert.equal(requestOrigin(request('inner:8080', { protocol: 'https', host: 'npm.example.org' })), 'https://npm.example.org')
  })

  for (const host of [undefined, '', 'evil.example/x', 'a@evil.example', 'a b', 'evil.example:80:80', 'evil.example#', 'x'.repeat(201), 'evil.example?']) {
    it(`refuses Host ${JSON.stringify(host)} (400)`, () => {
      assert.throws(() => requestOrigin(request(host)), ValidationError)
    })
  }

  it('answers the same with a memo of checked origins, and never remembers a refused Host', () => {
    const memo = new Memo<string>(2)
    for (let i = 0; i < 2; i++) {
      assert.equal(requestOrigin(request('Mirror.Example:80'), memo), 'http://mirror.example')
      assert.equal(requestOrigin(request('h.example', { socket: { encrypted: true } }), memo), 'https://h.example')
      assert.throws(() => requestOrigin(request('evil.example/x'), memo), ValidationError)
      assert.throws(() => requestOrigin(request(undefined), memo), ValidationError)
    }
    // Past its size the memo starts again; the answers stay.
    assert.equal(requestOrigin(request('[::1]:3000'), memo), 'http://[::1]:3000')
    assert.equal(requestOrigin(request('Mirror.Example:80'), memo), 'http://mirror.example')
  })
})

describe('OriginBound', () => {
  it('admits the first origins, again and again, and refuses one more (400)', () => {
    const bound = new OriginBound(2)
    bound.admit('http://a', 'npm')
    bound.admit('http://b', 'npm')
    bound.admit('http://a', 'npm')
    assert.throws(() => bound.admit('http://c', 'npm'), (err: unknown) => err instanceof ValidationError && /npm remote "npm" already serves packuments for 2 origins/.test(err.message))
    bound.admit('http://b', 'npm')
  })
})
