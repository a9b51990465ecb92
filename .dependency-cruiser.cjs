// `npm run check:cycles`: no two folders of lib/ may depend on each other, directly or round a
// longer loop. Folders are compared as dependency-cruiser derives them (lib/plugins/deb is a
// folder of its own, whose imports count for lib/plugins too). Run-time imports only: TypeScript
// drops an `import type` from the compiled file, and `tsPreCompilationDeps: false` reads the
// imports the way the compiled file has them. .dependency-cruiser-types.cjs adds the type imports.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycle',
      comment: 'Folders of lib/ import each other at run time: move what both need into the lower one.',
      severity: 'error',
      scope: 'folder',
      from: { path: '^lib/' },
      to: { path: '^lib/', circular: true }
    }
  ],
  options: {
    includeOnly: '^lib/',
    tsPreCompilationDeps: false
  }
}
