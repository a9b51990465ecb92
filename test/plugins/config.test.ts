import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { PluginConfig } from '../../lib'
import { assertJson, mergeStoredConfig } from '../../lib/plugins/config'

describe('PluginConfig', () => {
  const config = new PluginConfig({
    defaults: { a: 'default', b: 'default', c: 'default' },
    stored: { b: 'stored', c: 'stored' },
    override: { c: 'override' }
  })

  it('takes the override first, then the stored config, then the defaults', () => {
    assert.equal(config.get('a'), 'default')
    assert.equal(config.get('b'), 'stored')
    assert.equal(config.get('c'), 'override')
  })

  it('answers the fallback for a key no layer sets, and has() says so', () => {
    assert.equal(config.get('missing', 42), 42)
    assert.equal(config.get('missing'), undefined)
    assert.equal(config.has('missing'), false)
    assert.equal(config.has('a'), true)
  })

  it('flattens to one object', () => {
    assert.deepEqual(config.flatten(), { a: 'default', b: 'stored', c: 'override' })
  })

  it('hands out copies: changing them changes nothing', () => {
    const nested = new PluginConfig({ stored: { list: [1, 2] } })
    nested.get<number[]>('list').push(3)
    nested.flatten().list = 'x'
    assert.deepEqual(nested.get('list'), [1, 2])
  })

  it('lets a null in a higher layer hide the key below', () => {
    const hidden = new PluginConfig({ defaults: { a: 1 }, override: { a: null } })
    assert.equal(hidden.has('a'), false)
    assert.equal(hidden.get('a', 'fallback'), 'fallback')
  })
})

describe('mergeStoredConfig', () => {
  it('drops null keys on add', () => {
    assert.deepEqual(mergeStoredConfig(undefined, { a: 1, b: null }), { a: 1 })
  })

  it('merges keys on update, and null deletes one', () => {
    assert.deepEqual(mergeStoredConfig({ a: 1, b: 2, c: 3 }, { b: null, c: 4, d: 5 }), { a: 1, c: 4, d: 5 })
  })
})

describe('assertJson', () => {
  it('accepts plain JSON', () => {
    assertJson({ a: [1, 'x', null, true, { b: 2.5 }] }, 'v')
  })

  for (const [what, value, pattern] of [
    ['a function', { f: () => 1 }, /f is a function/],
    ['undefined', { u: undefined }, /u is a undefined/],
    ['NaN', { n: Number.NaN }, /n is NaN/],
    ['a bigint', { b: 1n }, /b is a bigint/],
    ['a Map', { m: new Map() }, /m is a Map/],
    ['a cycle', (() => { const o: Record<string, unknown> = {}; o.self = o; return o })(), /self is a circular reference/]
  ] as const) {
    it(`refuses ${what} with a TypeError naming where`, () => {
      assert.throws(() => assertJson(value, 'the report'), (err: unknown) => err instanceof TypeError && pattern.test(err.message))
    })
  }
})
