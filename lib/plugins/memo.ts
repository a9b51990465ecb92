/**
 * Values computed from a string, remembered per remote type instance (an instance is built
 * again when its remote changes): what a warm HIT's `getUpstreamTarget` would otherwise parse
 * each time, URLs above all (benches 12 and 13). Past `max` keys all are forgotten at once.
 */
export class Memo<V> {
  readonly #values = new Map<string, V>()
  readonly #max: number

  constructor (max = 1000) {
    this.#max = max
  }

  /** The value of `key`, computed by `compute` the first time (a throw is not remembered). */
  get (key: string, compute: (key: string) => V): V {
    let value = this.#values.get(key)
    if (value === undefined) {
      value = compute(key)
      if (this.#values.size >= this.#max) this.#values.clear()
      this.#values.set(key, value)
    }
    return value
  }
}
