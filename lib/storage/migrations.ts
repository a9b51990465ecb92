import createDebug from 'debug'
import type { Knex } from 'knex'

const debug = createDebug('pulp:storage:migrations')

/** Our own bookkeeping table, so we never collide with the host app's knex migrations. */
export const MIGRATIONS_TABLE = 'pulp_migrations'

interface Migration {
  name: string
  up: (knex: Knex) => Promise<void>
  down: (knex: Knex) => Promise<void>
}

/*
 * Times are ISO 8601 strings in UTC (fixed width, so they sort and compare as text on every
 * dialect); JSON is stored as text. Both keep SQLite and PostgreSQL rows identical.
 */
const MIGRATIONS: readonly Migration[] = [
  {
    name: '001_initial',
    async up (knex) {
      await knex.schema.createTable('pulp_repositories', (t) => {
        t.string('id', 255).primary()
        t.string('display_name', 255).nullable()
        t.text('description').nullable()
        t.text('notes').notNullable().defaultTo('{}')
        t.text('scratchpad').nullable()
        // Bumped on every content change: the publish runner compares it to skip no-op publishes.
        t.bigInteger('content_version').notNullable().defaultTo(0)
        t.string('last_unit_added', 32).nullable()
        t.string('last_unit_removed', 32).nullable()
        t.string('created', 32).notNullable()
        t.string('updated', 32).notNullable()
      })
      await knex.schema.createTable('pulp_artifacts', (t) => {
        t.string('sha256', 64).primary()
        t.bigInteger('size').notNullable()
        t.string('created', 32).notNullable()
      })
      await knex.schema.createTable('pulp_units', (t) => {
        t.string('id', 36).primary()
        t.string('type_id', 64).notNullable()
        t.string('relative_path', 1024).notNullable()
        t.string('sha256', 64).notNullable().references('sha256').inTable('pulp_artifacts')
        t.bigInteger('size').notNullable()
        t.string('created', 32).notNullable()
        t.unique(['type_id', 'relative_path', 'sha256'], { indexName: 'pulp_units_identity' })
      })
      await knex.schema.createTable('pulp_repository_units', (t) => {
        t.string('repository_id', 255).notNullable().references('id').inTable('pulp_repositories').onDelete('CASCADE')
        t.string('unit_id', 36).notNullable().references('id').inTable('pulp_units')
        // Copied from the unit so the database itself enforces one unit per path in a repository.
        t.string('relative_path', 1024).notNullable()
        t.string('added', 32).notNullable()
        t.primary(['repository_id', 'unit_id'])
        t.unique(['repository_id', 'relative_path'], { indexName: 'pulp_repository_units_path' })
      })
      await knex.schema.createTable('pulp_repo_distributors', (t) => {
        t.string('repository_id', 255).notNullable().references('id').inTable('pulp_repositories').onDelete('CASCADE')
        t.string('distributor_id', 255).notNullable()
        t.string('distributor_type_id', 64).notNullable()
        t.text('config').notNullable().defaultTo('{}')
        t.boolean('auto_publish').notNullable().defaultTo(false)
        t.text('scratchpad').nullable()
        t.string('last_publish', 32).nullable()
        t.string('created', 32).notNullable()
        t.string('updated', 32).notNullable()
        t.primary(['repository_id', 'distributor_id'])
      })
      await knex.schema.createTable('pulp_workers', (t) => {
        t.string('id', 36).primary()
        t.string('hostname', 255).notNullable()
        t.integer('pid').notNullable()
        t.string('started', 32).notNullable()
        t.string('heartbeat', 32).notNullable()
      })
      await knex.schema.createTable('pulp_tasks', (t) => {
        t.string('id', 36).primary()
        // Insertion order, for "one publish per repository + distributor, in order".
        t.increments('seq').notNullable().unique({ indexName: 'pulp_tasks_seq' })
        t.string('task_type', 64).notNullable()
        t.string('repository_id', 255).nullable()
        t.string('distributor_id', 255).nullable()
        t.string('state', 16).notNullable()
        t.text('args').notNullable().defaultTo('{}')
        t.text('progress_report').nullable()
        t.text('result').nullable()
        t.text('error').nullable()
        t.string('worker_id', 36).nullable()
        t.boolean('cancel_requested').notNullable().defaultTo(false)
        t.string('created', 32).notNullable()
        t.string('started', 32).nullable()
        t.string('finished', 32).nullable()
        t.index(['state', 'seq'], 'pulp_tasks_state_seq')
        t.index(['repository_id', 'distributor_id'], 'pulp_tasks_repo_distributor')
      })
      await knex.schema.createTable('pulp_publish_history', (t) => {
        t.increments('id').primary()
        t.string('repository_id', 255).notNullable()
        t.string('distributor_id', 255).notNullable()
        t.string('task_id', 36).nullable()
        t.string('started', 32).notNullable()
        t.string('completed', 32).notNullable()
        t.string('result', 16).notNullable()
        t.text('summary').nullable()
        t.text('details').nullable()
        t.text('error_message').nullable()
        // What was published (content version, config, override): equal fingerprints skip.
        t.string('fingerprint', 64).nullable()
        t.index(['repository_id', 'distributor_id', 'id'], 'pulp_publish_history_repo_distributor')
      })
      await knex.schema.createTable('pulp_consumers', (t) => {
        t.string('id', 255).primary()
        t.string('display_name', 255).nullable()
        t.text('description').nullable()
        t.text('notes').notNullable().defaultTo('{}')
        t.string('created', 32).notNullable()
      })
      await knex.schema.createTable('pulp_bindings', (t) => {
        t.string('consumer_id', 255).notNullable().references('id').inTable('pulp_consumers').onDelete('CASCADE')
        t.string('repository_id', 255).notNullable()
        t.string('distributor_id', 255).notNullable()
        t.text('binding_config').notNullable().defaultTo('{}')
        t.string('created', 32).notNullable()
        t.primary(['consumer_id', 'repository_id', 'distributor_id'])
      })
      await knex.schema.createTable('pulp_remotes', (t) => {
        t.string('name', 255).primary()
        t.string('url', 2048).notNullable()
        t.string('remote_type_id', 64).notNullable()
        t.text('headers').notNullable().defaultTo('{}')
        t.string('policy', 16).notNullable()
        t.float('connect_timeout').nullable()
        t.float('total_timeout').nullable()
        t.string('proxy_url', 2048).nullable()
        t.boolean('tls_validation').notNullable().defaultTo(true)
        t.float('negative_cache_ttl').nullable()
        t.string('created', 32).notNullable()
        t.string('updated', 32).notNullable()
      })
      await knex.schema.createTable('pulp_distributions', (t) => {
        t.string('name', 255).primary()
        t.string('base_path', 1024).notNullable().unique({ indexName: 'pulp_distributions_base_path' })
        t.string('repository_id', 255).nullable()
        t.string('remote_name', 255).nullable()
        t.string('created', 32).notNullable()
        t.string('updated', 32).notNullable()
      })
      // What a remote served for a path: the pull-through cache's index.
      await knex.schema.createTable('pulp_remote_artifacts', (t) => {
        t.string('remote_name', 255).notNullable()
        t.string('relative_path', 1024).notNullable()
        t.string('unit_id', 36).nullable()
        t.string('sha256', 64).notNullable().references('sha256').inTable('pulp_artifacts')
        t.bigInteger('size').notNullable()
        t.string('content_type', 255).nullable()
        t.string('created', 32).notNullable()
        t.primary(['remote_name', 'relative_path'])
      })
    },
    async down (knex) {
      for (const table of ['pulp_remote_artifacts', 'pulp_distributions', 'pulp_remotes', 'pulp_bindings',
        'pulp_consumers', 'pulp_publish_history', 'pulp_tasks', 'pulp_workers', 'pulp_repo_distributors',
        'pulp_repository_units', 'pulp_units', 'pulp_artifacts', 'pulp_repositories']) {
        await knex.schema.dropTableIfExists(table)
      }
    }
  },
  {
    // Pull-through keeps an upstream's Content-Encoding, so a HIT replays exactly what a MISS sent.
    name: '002_remote_artifact_encoding',
    async up (knex) {
      await knex.schema.alterTable('pulp_remote_artifacts', (t) => {
        t.string('content_encoding', 255).nullable()
      })
    },
    async down (knex) {
      await knex.schema.alterTable('pulp_remote_artifacts', (t) => {
        t.dropColumn('content_encoding')
      })
    }
  },
  {
    // Pull-through across instances: who downloads a remote's path, and how far it got.
    name: '003_pull_downloads',
    async up (knex) {
      await knex.schema.createTable('pulp_pull_downloads', (t) => {
        // sha256 of the remote and the path: paths run to 1024 characters.
        t.string('lock_key', 64).primary()
        t.string('owner', 64).notNullable()
        t.string('state', 16).notNullable()
        t.string('file', 255).nullable()
        // The file of the leader this one replaced (it died), for removal.
        t.string('previous_file', 255).nullable()
        t.text('head').nullable()
        t.text('error').nullable()
        // The lease on SQLite; informative on PostgreSQL, where an advisory lock decides.
        t.string('expires', 32).notNullable()
        t.string('updated', 32).notNullable()
      })
    },
    async down (knex) {
      await knex.schema.dropTableIfExists('pulp_pull_downloads')
    }
  },
  {
    // A remote's read timeout (seconds without a byte from the upstream; existing remotes get
    // the default), and where a pull-through leader runs, so that a follower on its host sees
    // it die at once instead of streaming its partial file until the lease runs out.
    name: '004_read_timeout_and_pull_leaders',
    async up (knex) {
      await knex.schema.alterTable('pulp_remotes', (t) => {
        t.float('read_timeout').notNullable().defaultTo(30)
      })
      await knex.schema.alterTable('pulp_pull_downloads', (t) => {
        t.string('leader_host', 512).nullable()
        t.integer('leader_pid').nullable()
      })
    },
    async down (knex) {
      await knex.schema.alterTable('pulp_pull_downloads', (t) => {
        t.dropColumn('leader_host')
        t.dropColumn('leader_pid')
      })
      await knex.schema.alterTable('pulp_remotes', (t) => {
        t.dropColumn('read_timeout')
      })
    }
  },
  {
    name: '005_status_probe',
    async up (knex) {
      // One row that `GET /status` rewrites: a database that answers reads but cannot commit
      // a write (disk full, read-only) shows as not writable.
      await knex.schema.createTable('pulp_status_probe', (t) => {
        t.integer('id').primary()
        t.string('probed', 32).notNullable()
      })
    },
    async down (knex) {
      await knex.schema.dropTableIfExists('pulp_status_probe')
    }
  },
  {
    // Pull-through freshness: which paths are metadata, how long they stay fresh, how long a
    // copy may be served while the upstream fails, and when the upstream counts as down.
    name: '006_remote_freshness',
    async up (knex) {
      await knex.schema.alterTable('pulp_remotes', (t) => {
        // JSON array of globs; null: the remote type's default.
        t.text('metadata_patterns').nullable()
        t.float('metadata_ttl').notNullable().defaultTo(300)
        t.float('stale_if_error').notNullable().defaultTo(86400)
        t.integer('max_failures').notNullable().defaultTo(5)
      })
    },
    async down (knex) {
      await knex.schema.alterTable('pulp_remotes', (t) => {
        t.dropColumn('metadata_patterns')
        t.dropColumn('metadata_ttl')
        t.dropColumn('stale_if_error')
        t.dropColumn('max_failures')
      })
    }
  },
  {
    // The pull-through's shared memory: metadata copies with their validators, remembered
    // 404s (both kept across restarts and seen by every instance), and each upstream's health.
    name: '007_pull_entries',
    async up (knex) {
      await knex.schema.createTable('pulp_pull_entries', (t) => {
        t.string('remote_name', 255).notNullable()
        t.string('relative_path', 1024).notNullable()
        // A representation chosen by the request (npm's full and abbreviated packuments); '' by default.
        t.string('variant', 255).notNullable().defaultTo('')
        // 200: a metadata copy; 404: the upstream has no such path.
        t.integer('status').notNullable()
        t.string('sha256', 64).nullable().references('sha256').inTable('pulp_artifacts')
        t.bigInteger('size').nullable()
        t.string('content_type', 255).nullable()
        t.string('content_encoding', 255).nullable()
        t.string('etag', 1024).nullable()
        t.string('last_modified', 64).nullable()
        // The index digest ("sha512:<hex>") the bytes were verified against, if any.
        t.string('digest', 160).nullable()
        t.string('fetched', 32).notNullable()
        t.primary(['remote_name', 'relative_path', 'variant'])
      })
      await knex.schema.alterTable('pulp_remote_artifacts', (t) => {
        t.string('digest', 160).nullable()
      })
      await knex.schema.createTable('pulp_remote_health', (t) => {
        t.string('remote_name', 255).primary()
        t.integer('consecutive_failures').notNullable().defaultTo(0)
        t.string('down_since', 32).nullable()
        t.string('retry_at', 32).nullable()
        // The back-off of the current (or last) time down, in seconds: 30 doubling to 600.
        t.float('backoff').nullable()
        t.string('updated', 32).notNullable()
      })
    },
    async down (knex) {
      await knex.schema.dropTableIfExists('pulp_remote_health')
      await knex.schema.alterTable('pulp_remote_artifacts', (t) => {
        t.dropColumn('digest')
      })
      await knex.schema.dropTableIfExists('pulp_pull_entries')
    }
  },
  {
    // Orphan cleanup asks "does anything reference this artifact / unit?" for every candidate:
    // without these, each question scanned a whole table (bench: "orphan cleanup").
    name: '008_reference_indexes',
    async up (knex) {
      await knex.schema.alterTable('pulp_units', (t) => { t.index(['sha256'], 'pulp_units_sha256') })
      await knex.schema.alterTable('pulp_remote_artifacts', (t) => {
        t.index(['sha256'], 'pulp_remote_artifacts_sha256')
        t.index(['unit_id'], 'pulp_remote_artifacts_unit')
      })
      await knex.schema.alterTable('pulp_repository_units', (t) => { t.index(['unit_id'], 'pulp_repository_units_unit') })
    },
    async down (knex) {
      await knex.schema.alterTable('pulp_repository_units', (t) => { t.dropIndex(['unit_id'], 'pulp_repository_units_unit') })
      await knex.schema.alterTable('pulp_remote_artifacts', (t) => {
        t.dropIndex(['unit_id'], 'pulp_remote_artifacts_unit')
        t.dropIndex(['sha256'], 'pulp_remote_artifacts_sha256')
      })
      await knex.schema.alterTable('pulp_units', (t) => { t.dropIndex(['sha256'], 'pulp_units_sha256') })
    }
  },
  {
    // Where each path a rewritten index points at really is upstream: recorded from the index,
    // so every instance (and a restarted one) serves it, and no client ever names a URL.
    name: '009_remote_bindings',
    async up (knex) {
      await knex.schema.createTable('pulp_remote_bindings', (t) => {
        t.string('remote_name', 255).notNullable()
        t.string('relative_path', 1024).notNullable()
        t.text('url').notNullable()
        t.string('digest_algorithm', 16).nullable()
        t.string('digest_hex', 128).nullable()
        t.string('updated_at', 32).notNullable()
        t.primary(['remote_name', 'relative_path'])
      })
    },
    async down (knex) {
      await knex.schema.dropTableIfExists('pulp_remote_bindings')
    }
  },
  {
    // The pull-through quota: a distribution's limit, when each cached path was last served
    // (written in batches), and which artifacts had their bytes evicted (their rows stay, for
    // the units and remote paths that reference them; the next request pulls them again).
    name: '010_pull_through_quota',
    async up (knex) {
      await knex.schema.alterTable('pulp_distributions', (t) => {
        t.bigInteger('cache_max_bytes').nullable()
      })
      await knex.schema.alterTable('pulp_remote_artifacts', (t) => {
        t.string('last_served', 32).nullable()
        t.index(['remote_name', 'sha256'], 'pulp_remote_artifacts_remote_sha256')
      })
      await knex.schema.alterTable('pulp_artifacts', (t) => {
        t.string('evicted', 32).nullable()
      })
    },
    async down (knex) {
      await knex.schema.alterTable('pulp_artifacts', (t) => { t.dropColumn('evicted') })
      await knex.schema.alterTable('pulp_remote_artifacts', (t) => {
        t.dropIndex(['remote_name', 'sha256'], 'pulp_remote_artifacts_remote_sha256')
        t.dropColumn('last_served')
      })
      await knex.schema.alterTable('pulp_distributions', (t) => { t.dropColumn('cache_max_bytes') })
    }
  }
]

/** The names of every migration shipped, in order. */
export const MIGRATION_NAMES: readonly string[] = Object.freeze(MIGRATIONS.map((m) => m.name))

class CodeMigrationSource implements Knex.MigrationSource<Migration> {
  async getMigrations (): Promise<Migration[]> { return [...MIGRATIONS] }
  getMigrationName (migration: Migration): string { return migration.name }
  async getMigration (migration: Migration): Promise<Knex.Migration> { return migration }
}

const MIGRATOR_CONFIG: Knex.MigratorConfig = Object.freeze({
  migrationSource: new CodeMigrationSource(),
  tableName: MIGRATIONS_TABLE
})

function isRaceError (err: unknown): boolean {
  const e = err as { name?: string, code?: string, message?: string }
  if (e?.name === 'MigrationLocked') return true
  // Two processes creating the bookkeeping tables at once: one loses and simply tries again.
  return /already exists|duplicate key|SQLITE_BUSY|database is locked|UNIQUE constraint failed/i.test(String(e?.message ?? '')) ||
    e?.code === '23505' || e?.code === '42P07' || e?.code === 'SQLITE_BUSY'
}

/**
 * knex inserts the lock table's one row when it finds the table empty; processes starting at
 * once can each insert one, and then every attempt to lock updates two rows and fails as
 * "already locked", for ever. Unlocked spare rows are only ever that: they go.
 */
async function dropDuplicateLockRows (knex: Knex): Promise<void> {
  const table = `${MIGRATIONS_TABLE}_lock`
  const rows = await knex(table).orderBy('index').select('index', 'is_locked').catch(() => []) as Array<{ index: number, is_locked: number }>
  if (rows.length < 2 || rows.some((r) => Number(r.is_locked) !== 0)) return
  await knex(table).whereIn('index', rows.slice(1).map((r) => r.index)).where('is_locked', 0).delete()
  debug('removed %d duplicate migration lock row(s)', rows.length - 1)
}

/**
 * Brings the schema up to date. Safe when several processes start at once: knex's lock table
 * serialises the migrations themselves, and a lost race while creating that table is retried.
 */
export async function migrateLatest (knex: Knex, { timeoutMs = 60_000 } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (let attempt = 1; ; attempt++) {
    try {
      const [, applied] = await knex.migrate.latest(MIGRATOR_CONFIG) as [number, string[]]
      if (applied.length > 0) debug('applied %o', applied)
      return
    } catch (err: unknown) {
      if (!isRaceError(err) || Date.now() > deadline) throw err
      debug('migration race (attempt %d): %s', attempt, (err as Error).message)
      if ((err as { name?: string }).name === 'MigrationLocked') await dropDuplicateLockRows(knex)
      await new Promise((resolve) => setTimeout(resolve, Math.min(50 * attempt, 500) + Math.random() * 50))
    }
  }
}
