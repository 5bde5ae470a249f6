import { Document } from '@element-plus/icons-vue'

import { definePage } from '../../menu'

// One prior result opened by its reference (调阅报告; the CDS Hooks card's link), not from the
// menu.  Anyone logged in may open the page: whether they may read the result is the server's.
export default definePage({
  name: 'result',
  path: '/results/:type(DiagnosticReport|Observation)/:id',
  titleKey: 'results.title',
  icon: Document,
  roles: 'everyone',
  order: 27,
  inMenu: false,
  component: () => import('./ResultPage.vue'),
})
