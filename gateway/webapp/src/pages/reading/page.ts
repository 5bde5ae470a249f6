import { EditPen } from '@element-plus/icons-vue'

import { definePage } from '../../menu'

// Reached from the worklist (one Task), not from the menu.
export default definePage({
  name: 'reading',
  path: '/reading/:taskId',
  titleKey: 'pages.reading',
  icon: EditPen,
  roles: ['reader', 'senior_reader'],
  order: 11,
  inMenu: false,
  component: () => import('./ReadingPage.vue'),
})
