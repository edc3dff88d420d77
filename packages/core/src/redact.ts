/**
 * Free text (an error message, a network error, a log line) with secrets replaced by
 * `[redacted]`: the given `secrets` verbatim (e.g. the API key a client sent), `Bearer`/`Basic`
 * credentials, OpenAI-style `sk-...` keys, URL `user:password@` and URL query values. One set
 * of rules for every package that logs or reports text it did not write (LLM client, server).
 */
export function redactText(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('[redacted]');
  return out
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [redacted]')
    .replace(/\bsk-[A-Za-z0-9_-]{8,}/g, '[redacted]')
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@"'<>]+@/gi, '$1[redacted]@')
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^\s?#"'<>]*\?)([^\s#"'<>]*)/gi, (_m, head: string, query: string) => head + query.replace(/=([^&]*)/g, '=[redacted]'));
}
