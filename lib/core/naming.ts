// The names live with the schemas, which name every field; core keeps its import path.
export { camelCase, snakeCase } from '../schemas/naming'
