// Asks the API (through the same proxy) which colour answered: both halves should match.
fetch('/api/health')
  .then((r) => r.json())
  .then(
    (h) =>
      (document.getElementById('api').textContent =
        `${h.status}, ${h.environment} ${h.version}, database ${h.database}`)
  )
  .catch((e) => (document.getElementById('api').textContent = `unreachable (${e.message})`));
