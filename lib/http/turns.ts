/**
 * The event loop's turns, counted for one cache (nothing shared between instances): a check
 * made during a turn holds for every other request handled in the same turn. A turn's requests
 * were received together (the poll that handed them over), so answering the later ones from
 * the first one's check answers them as if they had been handled first; a request that arrives
 * after a publish or a file change completes is handled in a later turn and checks afresh.
 * Under load this turns one syscall per request into one per path per turn.
 */
export class Turns {
  #turn = 0
  #ending = false
  readonly #end = (): void => {
    this.#turn++
    this.#ending = false
  }

  /** The current turn's number: it moves on at the loop's next check phase. */
  current (): number {
    if (!this.#ending) {
      this.#ending = true
      setImmediate(this.#end)
    }
    return this.#turn
  }
}
