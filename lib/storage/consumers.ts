import type { Knex } from 'knex'
import { fromJson, now, toJson, toNumber, type Page, type PageOf } from './rows'

export interface Consumer {
  id: string
  displayName: string | null
  description: string | null
  notes: Record<string, unknown>
  created: string
}

export interface ConsumerFields {
  displayName?: string | null
  description?: string | null
  notes?: Record<string, unknown>
}

export interface Binding {
  consumerId: string
  repoId: string
  distributorId: string
  bindingConfig: Record<string, unknown>
  created: string
}

interface ConsumerRow { id: string, display_name: string | null, description: string | null, notes: string, created: string }
interface BindingRow { consumer_id: string, repository_id: string, distributor_id: string, binding_config: string, created: string }

function toConsumer (row: ConsumerRow): Consumer {
  return { id: row.id, displayName: row.display_name, description: row.description, notes: fromJson(row.notes, {}), created: row.created }
}

function toBinding (row: BindingRow): Binding {
  return {
    consumerId: row.consumer_id,
    repoId: row.repository_id,
    distributorId: row.distributor_id,
    bindingConfig: fromJson(row.binding_config, {}),
    created: row.created
  }
}

export async function insertConsumer (knex: Knex, id: string, fields: ConsumerFields): Promise<void> {
  await knex('pulp_consumers').insert({
    id, display_name: fields.displayName ?? null, description: fields.description ?? null, notes: toJson(fields.notes ?? {}), created: now()
  })
}

export async function findConsumer (knex: Knex, id: string): Promise<Consumer | undefined> {
  const row = await knex('pulp_consumers').where({ id }).first() as ConsumerRow | undefined
  return row === undefined ? undefined : toConsumer(row)
}

export async function listConsumers (knex: Knex, page: Page): Promise<PageOf<Consumer>> {
  const [{ n }] = await knex('pulp_consumers').count({ n: '*' }) as Array<{ n: number | string }>
  const rows = await knex('pulp_consumers').orderBy('id').limit(page.limit).offset(page.offset) as ConsumerRow[]
  return { count: toNumber(n), results: rows.map(toConsumer) }
}

export async function deleteConsumer (knex: Knex, id: string): Promise<boolean> {
  return await knex.transaction(async (trx) => {
    await trx('pulp_bindings').where({ consumer_id: id }).delete()
    return await trx('pulp_consumers').where({ id }).delete() > 0
  })
}

export async function insertBinding (knex: Knex, b: Omit<Binding, 'created'>): Promise<Binding> {
  const row = {
    consumer_id: b.consumerId,
    repository_id: b.repoId,
    distributor_id: b.distributorId,
    binding_config: toJson(b.bindingConfig),
    created: now()
  }
  await knex('pulp_bindings').insert(row)
  return toBinding(row)
}

export async function listBindings (knex: Knex, consumerId: string, page: Page): Promise<PageOf<Binding>> {
  const [{ n }] = await knex('pulp_bindings').where({ consumer_id: consumerId }).count({ n: '*' }) as Array<{ n: number | string }>
  const rows = await knex('pulp_bindings').where({ consumer_id: consumerId })
    .orderBy(['repository_id', 'distributor_id']).limit(page.limit).offset(page.offset) as BindingRow[]
  return { count: toNumber(n), results: rows.map(toBinding) }
}

export async function deleteBinding (knex: Knex, consumerId: string, repoId: string, distributorId: string): Promise<boolean> {
  return await knex('pulp_bindings').where({ consumer_id: consumerId, repository_id: repoId, distributor_id: distributorId }).delete() > 0
}
