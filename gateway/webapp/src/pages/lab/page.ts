import { Histogram } from '@element-plus/icons-vue'

import { definePage } from '../../menu'

export default definePage({
  name: 'lab',
  path: '/lab',
  titleKey: 'pages.lab',
  icon: Histogram,
  roles: ['clinician', 'head'],
  order: 40,
  component: () => import('./LabPage.vue'),
})
