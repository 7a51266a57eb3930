// The Vary header, shared by compression and CORS (Fastify has no helper for it).

/** Adds `name` to the reply's Vary header unless it is there already. */
export function addVary (reply, name) {
  const current = [].concat(reply.getHeader('vary') ?? []).join(', ')
  const names = current.split(',').map((item) => item.trim().toLowerCase())
  if (names.includes(name) || names.includes('*')) return
  reply.header('vary', current ? `${current}, ${name}` : name)
}
