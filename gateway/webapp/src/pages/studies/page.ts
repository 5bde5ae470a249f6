import { Picture } from '@element-plus/icons-vue'

import { definePage } from '../../menu'

export default definePage({
  name: 'studies',
  path: '/studies',
  titleKey: 'pages.studies',
  icon: Picture,
  roles: ['reader', 'senior_reader', 'clinician', 'head'],
  order: 20,
  component: () => import('./StudiesPage.vue'),
})
