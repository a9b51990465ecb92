import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { packumentKind, packumentVariant, parsePackumentVariant } from '../../lib/plugins/npm/variant'

describe('packumentKind', () => {
  it('is abbreviated for npm\'s install Accept, full otherwise', () => {
    assert.equal(packumentKind('application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*'), 'abbreviated')
    assert.equal(packumentKind('Application/Vnd.Npm.Install-V1+Json'), 'abbreviated')
    assert.equal(packumentKind('application/json'), 'full')
    assert.equal(packumentKind('*/*'), 'full')
    assert.equal(packumentKind(undefined), 'full')
    assert.equal(packumentKind('application/vnd.npm.install-v1+json;q=0, application/json'), 'full')
  })
})

describe('packument variants', () => {
  it('round-trips the representation and origin', () => {
    assert.deepEqual(parsePackumentVariant(packumentVariant('abbreviated', 'http://h:1')), { kind: 'abbreviated', origin: 'http://h:1' })
    assert.deepEqual(parsePackumentVariant(packumentVariant('full', 'https://h')), { kind: 'full', origin: 'https://h' })
    assert.equal(parsePackumentVariant(''), null)
    assert.equal(parsePackumentVariant('json'), null)
    assert.equal(parsePackumentVariant('other http://h'), null)
  })
})
