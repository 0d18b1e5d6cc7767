// This client's own addresses: the link to one of its routes (nav.js ``route`` reads the fragment), and
// whether a link is one, so a message link sent in a message opens here (markdown.js) rather than in a tab.

export function routeLink(route) {
  return `${location.origin}${location.pathname}#/${route}`;
}

export function isRouteLink(href) {
  return href.startsWith(routeLink('c/'));
}
