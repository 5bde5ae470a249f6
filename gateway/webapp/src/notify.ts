// Short messages after an action: the server's refusal (its OperationOutcome diagnostics) or
// a confirmation.  ElMessage is called from script, so its style is imported here (templates
// get theirs from the component resolver).
import 'element-plus/es/components/message/style/css'

import { ElMessage } from 'element-plus'

import { reasonOf } from './reason'

export function notifyDone(text: string): void {
  ElMessage.success({ message: text, duration: 2500 })
}

export function notifyRefused(error: unknown): void {
  ElMessage.error({ message: reasonOf(error), duration: 6000 })
}
