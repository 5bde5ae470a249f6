import { DocumentChecked } from '@element-plus/icons-vue'

import { definePage } from '../../menu'

export default definePage({
  name: 'recognition',
  path: '/recognition',
  titleKey: 'recognition.title',
  icon: DocumentChecked,
  roles: ['clinician'],
  order: 26,
  component: () => import('./RecognitionPage.vue'),
})
