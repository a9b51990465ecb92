/** TypeScript names are camelCase; the wire and the docs use Pulp's snake_case. */
export function snakeCase (key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
}

export function camelCase (key: string): string {
  return key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase())
}
