// `npm run check:cycles` second pass: the same folder rule with type imports counted, as a
// warning. A cycle through types alone costs nothing at run time but still ties two folders
// that cannot be read apart; it is printed and does not fail the run yet.
/** @type {import('dependency-cruiser').IConfiguration} */
const runtime = require('./.dependency-cruiser.cjs')

module.exports = {
  forbidden: runtime.forbidden.map((rule) => ({ ...rule, name: 'no-folder-cycle-with-types', severity: 'warn' })),
  options: { ...runtime.options, tsPreCompilationDeps: true }
}
