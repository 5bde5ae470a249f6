// The critical-value inbox from the gateway: the alerts the person's organization must act on
// ($critical-inbox), the chain of one ($chain), and acknowledging with read-back
// ($acknowledge, whose answer — accepted or the server's reason — the page shows).
import { fhirGet, fhirPost } from '../../api/client'
import type { Identifier } from '../../api/fhir'
import type { Observation } from '../../lab/results'
import { parameters, type Patient } from '../../reading/model'

export type AlertState = 'open' | 'acknowledged'

export interface Person {
  username: string
  name: string
}

export interface Alert {
  id: string
  kind: string
  state: AlertState
  level: number
  summary: string
  raised: string
  deadline: string
  source: { id: string; name: string | null }
  raisedBy: Person | null
  patient: Patient | null
  result: Observation | null
  acknowledged: string | null
  acknowledgedBy: Person | null
  readBack: string | null
}

export interface ChainStep {
  at: string
  action: 'raised' | 'escalated' | 'acknowledged' | string
  organization: string
  organizationName: string | null
  by: string | null
  byName: string | null
  text: string | null
}

export interface Chain {
  alert: string
  state: AlertState
  level: number
  steps: ChainStep[]
}

export async function loadInbox(state: AlertState): Promise<Alert[]> {
  const answer = await fhirGet<{ alerts: Alert[] }>(`Communication/$critical-inbox?state=${state}`)
  return answer.alerts
}

export function loadChain(alertId: string): Promise<Chain> {
  return fhirGet<Chain>(`Communication/${encodeURIComponent(alertId)}/$chain`)
}

export function acknowledge(alertId: string, readBack: string): Promise<unknown> {
  return fhirPost(
    `Communication/${encodeURIComponent(alertId)}/$acknowledge`,
    parameters({ readBack }),
  )
}

/** Who must act at an alert's level: the clinic (0), its head (1), the raising centre (2). */
export function levelKey(level: number): 'clinic' | 'head' | 'centre' {
  return level <= 0 ? 'clinic' : level === 1 ? 'head' : 'centre'
}

/** The message key of a chain step's action (raised is also when the clinic was told). */
export function actionKey(action: string): string {
  return ['raised', 'escalated', 'acknowledged'].includes(action) ? action : 'other'
}

/** The patient's ID as shown (masked, revealed on request): the 身份证号 if there is one,
 * else the first identifier. */
export function patientIdentifier(patient: Patient | null): Identifier | undefined {
  const identifiers = (patient?.identifier ?? []).filter((i) => i.value)
  return identifiers.find((i) => /^\d{17}[\dXx]$|^\d{15}$/.test(i.value ?? '')) ?? identifiers[0]
}
