import { List } from '@element-plus/icons-vue'

import { definePage } from '../../menu'

export default definePage({
  name: 'worklist',
  path: '/worklist',
  titleKey: 'pages.worklist',
  icon: List,
  roles: ['reader', 'senior_reader'],
  order: 10,
  component: () => import('./WorklistPage.vue'),
})
