// A list a page loads from the server: the rows, whether a load is under way, and why the
// last one failed (the server's message), shown by the page instead of an empty table.
import { ref, type Ref } from 'vue'

import { reasonOf } from './reason'

export interface LoadedRows<T> {
  rows: Ref<T[]>
  loading: Ref<boolean>
  failure: Ref<string>
  load: () => Promise<void>
}

export function useRows<T>(fetch: () => Promise<T[]>): LoadedRows<T> {
  const rows = ref([]) as Ref<T[]>
  const loading = ref(false)
  const failure = ref('')
  async function load(): Promise<void> {
    loading.value = true
    failure.value = ''
    try {
      rows.value = await fetch()
    } catch (error) {
      failure.value = reasonOf(error)
    } finally {
      loading.value = false
    }
  }
  return { rows, loading, failure, load }
}
