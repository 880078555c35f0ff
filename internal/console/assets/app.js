// The console's pages. Every string that came from the API (names,
// environment values, events, stop reasons, log lines) reaches the page
// through text nodes only: el() never parses HTML, and no line here hands
// a string to the HTML parser (internal/console's tests check).
'use strict';

const POLL_MS = 1500;

// el builds an element. attrs sets properties (on* take functions) or,
// for names with a dash, attributes; children are nodes or strings, and
// strings become text nodes.
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k.includes('-') || k === 'for') e.setAttribute(k, v);
    else e[k] = v;
  }
  append(e, children);
  return e;
}

function append(parent, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    parent.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

function replace(node, ...children) {
  node.replaceChildren();
  append(node, children);
}

// link is an anchor to a console route; parts are encoded, so a name can
// never leave its path segment.
function link(text, ...parts) {
  return el('a', { href: route(...parts) }, text);
}

function route(...parts) {
  return '#/' + parts.map(p => encodeURIComponent(p)).join('/');
}

function statusTag(s) {
  return el('span', { class: 'status status-' + String(s || '').replace(/[^A-Z_]/g, '') }, s || '-');
}

function when(epoch) {
  if (epoch === undefined || epoch === null) return '-';
  const d = new Date(Number(epoch) * 1000);
  return isNaN(d) ? String(epoch) : d.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

function nameOf(arn) {
  return String(arn || '').split('/').pop();
}

// taskDefName is family:revision from a task definition ARN.
function taskDefName(arn) {
  return String(arn || '').split('/').pop();
}

function table(id, headers, rows, empty) {
  if (!rows.length) return el('p', { class: 'empty', id }, empty || 'None.');
  return el('table', { id },
    el('thead', {}, el('tr', {}, headers.map(h => el('th', {}, h)))),
    el('tbody', {}, rows));
}

function facts(pairs) {
  return el('dl', { class: 'facts' }, pairs.filter(p => p).map(([k, v]) => [el('dt', {}, k), el('dd', {}, v ?? '-')]));
}

function crumbs(...items) {
  const out = el('div', { class: 'crumbs' });
  items.forEach((it, i) => { if (i) append(out, [' / ']); append(out, [it]); });
  return out;
}

// Action feedback: AWS's own error text, or what was done.
function showError(err) {
  const box = document.getElementById('action-error');
  box.textContent = err instanceof ApiError ? err.text : String(err && err.message || err);
  box.hidden = false;
  document.getElementById('action-done').hidden = true;
}

function showDone(msg) {
  const box = document.getElementById('action-done');
  box.textContent = msg;
  box.hidden = false;
  document.getElementById('action-error').hidden = true;
}

function clearFeedback() {
  document.getElementById('action-error').hidden = true;
  document.getElementById('action-done').hidden = true;
}

// action runs one API call for a button, shows its outcome and refreshes
// the page's data.
async function action(button, what, fn) {
  button.disabled = true;
  let ok = false;
  try {
    await fn();
    ok = true;
  } catch (e) {
    showError(e);
  } finally {
    button.disabled = false;
  }
  if (ok) {
    await current.refresh();
    showDone(what);
  }
}

// ---------------------------------------------------------------- router

const current = { view: null, timer: null, token: 0, refresh: async () => {} };

function parseRoute() {
  const h = location.hash.replace(/^#\/?/, '');
  return h ? h.split('/').map(p => { try { return decodeURIComponent(p); } catch { return p; } }) : ['clusters'];
}

const views = {
  clusters: clustersView,
  cluster: clusterView,
  service: serviceView,
  task: taskView,
  taskdefs: familiesView,
  family: familyView,
  taskdef: taskDefView,
  diff: diffView,
  signin: signInView,
};

async function render() {
  clearInterval(current.timer);
  current.token++;
  const token = current.token;
  const [name, ...args] = parseRoute();
  const view = views[name] || clustersView;
  const main = document.getElementById('main');
  for (const a of document.querySelectorAll('header nav a')) {
    a.classList.toggle('active', a.id === (['taskdefs', 'family', 'taskdef', 'diff'].includes(name) ? 'nav-taskdefs' : 'nav-clusters'));
  }
  clearFeedback();
  renderIdentity();
  const v = view(...args);
  replace(main, v.node);
  current.refresh = async () => {
    if (token !== current.token) return;
    try {
      await v.update();
      if (v.errorBox) v.errorBox.hidden = true;
    } catch (e) {
      if (token !== current.token) return;
      if (e instanceof ApiError && AUTH_ERRORS.has(e.code)) {
        clearInterval(current.timer);
        replace(main, signInView(e).node);
        document.body.dataset.loaded = String(token);
        return;
      }
      if (v.errorBox) {
        v.errorBox.textContent = e instanceof ApiError ? e.text : String(e.message || e);
        v.errorBox.hidden = false;
      }
    }
    document.body.dataset.loaded = String(token);
  };
  await current.refresh();
  if (v.live && token === current.token) {
    let busy = false;
    current.timer = setInterval(async () => {
      if (busy) return;
      busy = true;
      try { await current.refresh(); } finally { busy = false; }
    }, POLL_MS);
  }
}

function renderIdentity() {
  const id = document.getElementById('identity');
  const c = Credentials.get();
  if (c) {
    replace(id, `Signed as ${c.accessKeyId} in ${c.region}`,
      el('button', { id: 'signout', onclick: () => { Credentials.clear(); render(); } }, 'Sign out'));
  } else {
    replace(id, el('a', { href: route('signin') }, 'Sign in'));
  }
}

// page is the common shape of a view: a node with an error box, and an
// update that fills it.
function page(title, crumbsNode, ...rest) {
  const errorBox = el('div', { class: 'error', id: 'load-error', hidden: true });
  const node = el('section', {}, crumbsNode, el('h1', {}, title), errorBox, rest);
  return { node, errorBox };
}

// ---------------------------------------------------------------- sign in

function signInView(err) {
  const c = Credentials.get() || {};
  const key = el('input', { id: 'signin-key', autocomplete: 'username', value: c.accessKeyId || '' });
  const secret = el('input', { id: 'signin-secret', type: 'password', autocomplete: 'current-password' });
  const token = el('input', { id: 'signin-token', value: c.sessionToken || '' });
  const region = el('input', { id: 'signin-region', value: c.region || 'us-east-1' });
  const form = el('form', {
    class: 'login', id: 'signin-form',
    onsubmit: (ev) => {
      ev.preventDefault();
      Credentials.set({
        accessKeyId: key.value.trim(), secretAccessKey: secret.value,
        sessionToken: token.value.trim() || undefined, region: region.value.trim() || 'us-east-1',
      });
      if (parseRoute()[0] === 'signin') location.hash = route('clusters');
      else render();
    },
  },
  el('label', {}, 'Access key ID', key),
  el('label', {}, 'Secret access key', secret),
  el('label', {}, 'Session token (optional)', token),
  el('label', {}, 'Region', region),
  el('button', { class: 'primary', type: 'submit', id: 'signin-submit' }, 'Sign in'));
  const node = el('section', { id: 'signin' },
    el('h1', {}, 'Sign in'),
    err ? el('div', { class: 'error', id: 'auth-error' }, err instanceof ApiError ? err.text : String(err)) : null,
    el('p', { class: 'muted' }, 'This ecsd verifies SigV4 signatures (--verify-sigv4). Enter a key from its credentials file; ' +
      'the browser signs each request with it and keeps it in this tab only (sessionStorage).'),
    form);
  return { node, update: async () => {} };
}

// ---------------------------------------------------------------- clusters

function clustersView() {
  const list = el('div', { id: 'clusters' });
  const p = page('Clusters', crumbs('Clusters'), list);
  return {
    ...p, live: true,
    update: async () => {
      const arns = await ecsAll('ListClusters', {}, 'clusterArns');
      const clusters = await describeAll('DescribeClusters', {}, 'clusters', arns, 'clusters', 100);
      clusters.sort((a, b) => a.clusterName.localeCompare(b.clusterName));
      replace(list, table('clusters-table', ['Name', 'Status', 'Services', 'Running tasks', 'Pending tasks', 'Container instances'],
        clusters.map(c => el('tr', { 'data-cluster': c.clusterName },
          el('td', {}, link(c.clusterName, 'cluster', c.clusterName)),
          el('td', {}, statusTag(c.status)),
          el('td', { class: 'num' }, c.activeServicesCount ?? 0),
          el('td', { class: 'num' }, c.runningTasksCount ?? 0),
          el('td', { class: 'num' }, c.pendingTasksCount ?? 0),
          el('td', { class: 'num' }, c.registeredContainerInstancesCount ?? 0))),
        'No clusters.'));
    },
  };
}

function tasksTable(id, cluster, tasks) {
  tasks.sort((a, b) => (b.createdAt || 0) - (a.createdAt || 0));
  return table(id, ['Task', 'Last status', 'Desired', 'Task definition', 'Group', 'Started', 'Stopped reason'],
    tasks.map(t => el('tr', { 'data-task': nameOf(t.taskArn) },
      el('td', {}, link(nameOf(t.taskArn), 'task', cluster, nameOf(t.taskArn))),
      el('td', {}, statusTag(t.lastStatus)),
      el('td', {}, statusTag(t.desiredStatus)),
      el('td', {}, link(taskDefName(t.taskDefinitionArn), 'taskdef', taskDefName(t.taskDefinitionArn))),
      el('td', {}, t.group || '-'),
      el('td', {}, when(t.startedAt)),
      el('td', { class: 'stopped-reason' }, t.stoppedReason || ''))),
    'No tasks.');
}

async function clusterTasks(cluster, extra) {
  const running = await ecsAll('ListTasks', { cluster, desiredStatus: 'RUNNING', ...extra }, 'taskArns', 300);
  const stopped = await ecsAll('ListTasks', { cluster, desiredStatus: 'STOPPED', ...extra }, 'taskArns', 100);
  return describeAll('DescribeTasks', { cluster }, 'tasks', running.concat(stopped), 'tasks', 100);
}

function clusterView(cluster) {
  const summary = el('div', { id: 'cluster-summary' });
  const services = el('div', {});
  const tasks = el('div', {});
  const instances = el('div', {});
  const p = page(cluster, crumbs(link('Clusters', 'clusters'), cluster), summary,
    el('h2', {}, 'Services'), services,
    el('h2', {}, 'Tasks'), tasks,
    el('h2', {}, 'Container instances'), instances);
  return {
    ...p, live: true,
    update: async () => {
      const out = await ecs('DescribeClusters', { clusters: [cluster] });
      if (!out.clusters || !out.clusters.length) {
        throw new ApiError('ClusterNotFoundException', `Cluster ${cluster} is ${(out.failures && out.failures[0] && out.failures[0].reason) || 'MISSING'}.`);
      }
      const c = out.clusters[0];
      replace(summary, facts([
        ['ARN', c.clusterArn], ['Status', statusTag(c.status)],
        ['Running tasks', String(c.runningTasksCount ?? 0)], ['Pending tasks', String(c.pendingTasksCount ?? 0)],
        ['Active services', String(c.activeServicesCount ?? 0)],
      ]));
      const svcArns = await ecsAll('ListServices', { cluster }, 'serviceArns');
      const svcs = await describeAll('DescribeServices', { cluster }, 'services', svcArns, 'services', 10);
      svcs.sort((a, b) => a.serviceName.localeCompare(b.serviceName));
      replace(services, table('services-table', ['Service', 'Status', 'Desired', 'Running', 'Pending', 'Task definition', 'Rollout'],
        svcs.map(s => {
          const primary = (s.deployments || []).find(d => d.status === 'PRIMARY') || {};
          return el('tr', { 'data-service': s.serviceName },
            el('td', {}, link(s.serviceName, 'service', cluster, s.serviceName)),
            el('td', {}, statusTag(s.status)),
            el('td', { class: 'num desired' }, s.desiredCount ?? 0),
            el('td', { class: 'num' }, s.runningCount ?? 0),
            el('td', { class: 'num' }, s.pendingCount ?? 0),
            el('td', {}, link(taskDefName(s.taskDefinition), 'taskdef', taskDefName(s.taskDefinition))),
            el('td', {}, statusTag(primary.rolloutState)));
        }), 'No services.'));
      replace(tasks, tasksTable('tasks-table', cluster, await clusterTasks(cluster, {})));
      const ciArns = await ecsAll('ListContainerInstances', { cluster }, 'containerInstanceArns');
      const cis = await describeAll('DescribeContainerInstances', { cluster }, 'containerInstances', ciArns, 'containerInstances', 100);
      const res = (list, name) => { const r = (list || []).find(x => x.name === name); return r ? String(r.integerValue ?? r.doubleValue ?? r.longValue ?? '') : '-'; };
      replace(instances, table('instances-table', ['Container instance', 'EC2 instance', 'Status', 'Agent connected', 'Running', 'Pending', 'CPU free/registered', 'Memory free/registered'],
        cis.map(ci => el('tr', { 'data-instance': nameOf(ci.containerInstanceArn) },
          el('td', {}, nameOf(ci.containerInstanceArn)),
          el('td', {}, ci.ec2InstanceId || '-'),
          el('td', {}, statusTag(ci.status)),
          el('td', {}, String(!!ci.agentConnected)),
          el('td', { class: 'num' }, ci.runningTasksCount ?? 0),
          el('td', { class: 'num' }, ci.pendingTasksCount ?? 0),
          el('td', { class: 'num' }, `${res(ci.remainingResources, 'CPU')} / ${res(ci.registeredResources, 'CPU')}`),
          el('td', { class: 'num' }, `${res(ci.remainingResources, 'MEMORY')} / ${res(ci.registeredResources, 'MEMORY')}`))),
        'No container instances.'));
    },
  };
}

// ---------------------------------------------------------------- services

function serviceView(cluster, name) {
  const summary = el('div', { id: 'service-summary' });
  const deployments = el('div', {});
  const events = el('div', {});
  const tasks = el('div', {});
  const count = el('input', { id: 'scale-count', type: 'number', min: '0' });
  const scale = el('button', { id: 'scale', class: 'primary' }, 'Set desired count');
  scale.addEventListener('click', () => action(scale, `Desired count of ${name} set to ${count.value}.`,
    () => ecs('UpdateService', { cluster, service: name, desiredCount: Number(count.value) })));
  const force = el('button', { id: 'force-deployment' }, 'Force new deployment');
  force.addEventListener('click', () => action(force, `New deployment of ${name} started.`,
    () => ecs('UpdateService', { cluster, service: name, forceNewDeployment: true })));
  const p = page(name, crumbs(link('Clusters', 'clusters'), link(cluster, 'cluster', cluster), 'Services', name),
    el('div', { class: 'actions' }, el('label', { for: 'scale-count' }, 'Desired count '), count, scale, force),
    summary,
    el('h2', {}, 'Deployments'), deployments,
    el('h2', {}, 'Events'), events,
    el('h2', {}, 'Tasks'), tasks);
  let countSet = false;
  return {
    ...p, live: true,
    update: async () => {
      const out = await ecs('DescribeServices', { cluster, services: [name] });
      if (!out.services || !out.services.length) {
        throw new ApiError('ServiceNotFoundException', `Service ${name} is ${(out.failures && out.failures[0] && out.failures[0].reason) || 'MISSING'}.`);
      }
      const s = out.services[0];
      if (!countSet) { count.value = String(s.desiredCount ?? 0); countSet = true; }
      replace(summary, facts([
        ['ARN', s.serviceArn], ['Status', statusTag(s.status)],
        ['Desired', el('span', { id: 'service-desired' }, String(s.desiredCount ?? 0))],
        ['Running', el('span', { id: 'service-running' }, String(s.runningCount ?? 0))],
        ['Pending', el('span', { id: 'service-pending' }, String(s.pendingCount ?? 0))],
        ['Task definition', link(taskDefName(s.taskDefinition), 'taskdef', taskDefName(s.taskDefinition))],
        ['Launch type', s.launchType || (s.capacityProviderStrategy ? 'capacity provider strategy' : '-')],
        ['Scheduling', s.schedulingStrategy || '-'],
        ['Created', when(s.createdAt)],
      ]));
      replace(deployments, table('deployments-table', ['Deployment', 'Status', 'Task definition', 'Desired', 'Pending', 'Running', 'Failed', 'Rollout state', 'Reason', 'Updated'],
        (s.deployments || []).map(d => el('tr', { 'data-deployment': d.id },
          el('td', {}, d.id),
          el('td', {}, statusTag(d.status)),
          el('td', {}, link(taskDefName(d.taskDefinition), 'taskdef', taskDefName(d.taskDefinition))),
          el('td', { class: 'num' }, d.desiredCount ?? 0),
          el('td', { class: 'num' }, d.pendingCount ?? 0),
          el('td', { class: 'num' }, d.runningCount ?? 0),
          el('td', { class: 'num' }, d.failedTasks ?? 0),
          el('td', { class: 'rollout' }, statusTag(d.rolloutState)),
          el('td', {}, d.rolloutStateReason || ''),
          el('td', {}, when(d.updatedAt)))),
        'No deployments.'));
      const evs = s.events || [];
      replace(events, evs.length
        ? el('ul', { class: 'events', id: 'events' }, evs.map(e => el('li', { 'data-event': e.id },
          el('time', {}, when(e.createdAt)), el('span', { class: 'message' }, e.message))))
        : el('p', { class: 'empty', id: 'events' }, 'No events yet.'));
      replace(tasks, tasksTable('service-tasks', cluster, await clusterTasks(cluster, { serviceName: name })));
    },
  };
}

// ---------------------------------------------------------------- tasks

function taskView(cluster, id) {
  const summary = el('div', { id: 'task-summary' });
  const containers = el('div', {});
  const logs = el('div', { id: 'logs' });
  const stop = el('button', { id: 'stop-task', class: 'danger' }, 'Stop task');
  stop.addEventListener('click', () => action(stop, `Task ${id} is stopping.`,
    () => ecs('StopTask', { cluster, task: id, reason: 'Stopped from the ecsd console' })));
  const p = page(`Task ${id}`, crumbs(link('Clusters', 'clusters'), link(cluster, 'cluster', cluster), 'Tasks', id),
    el('div', { class: 'actions' }, stop),
    summary, el('h2', {}, 'Containers'), containers, logs);
  let task = null;
  const showLogs = async (c, button) => {
    button.disabled = true;
    const box = el('div', { class: 'logs', id: 'logs-' + c.name, 'data-container': c.name }, 'Loading…');
    replace(logs, el('h2', {}, `Logs of ${c.name}`), box);
    try {
      const events = await readLogs(task, c);
      replace(box, events.length
        ? events.map(e => el('div', { class: 'line' }, e.timestamp ? el('time', {}, new Date(e.timestamp).toISOString()) : null, el('span', { class: 'text' }, e.message)))
        : el('span', { class: 'empty' }, 'No output.'));
    } catch (e) {
      replace(box, el('span', { class: 'log-error' }, e instanceof ApiError ? e.text : String(e.message || e)));
    } finally {
      button.disabled = false;
    }
  };
  return {
    ...p, live: true,
    update: async () => {
      const out = await ecs('DescribeTasks', { cluster, tasks: [id] });
      if (!out.tasks || !out.tasks.length) {
        throw new ApiError('', `Task ${id} is ${(out.failures && out.failures[0] && out.failures[0].reason) || 'MISSING'}.`);
      }
      task = out.tasks[0];
      const t = task;
      stop.hidden = t.desiredStatus === 'STOPPED';
      replace(summary, facts([
        ['ARN', t.taskArn],
        ['Last status', el('span', { id: 'task-last-status' }, statusTag(t.lastStatus))],
        ['Desired status', el('span', { id: 'task-desired-status' }, statusTag(t.desiredStatus))],
        ['Task definition', link(taskDefName(t.taskDefinitionArn), 'taskdef', taskDefName(t.taskDefinitionArn))],
        ['Group', t.group || '-'],
        ['Launch type', t.launchType || '-'],
        ['Container instance', t.containerInstanceArn ? nameOf(t.containerInstanceArn) : '-'],
        ['Created', when(t.createdAt)], ['Started', when(t.startedAt)], ['Stopped', when(t.stoppedAt)],
        ['Stop code', t.stopCode || '-'],
        ['Stopped reason', el('span', { id: 'task-stopped-reason' }, t.stoppedReason || '-')],
      ]));
      replace(containers, table('containers-table', ['Container', 'Image', 'Last status', 'Exit code', 'Reason', 'Health', ''],
        (t.containers || []).map(c => {
          const b = el('button', { class: 'show-logs', 'data-container': c.name }, 'Logs');
          b.addEventListener('click', () => showLogs(c, b));
          return el('tr', { 'data-container': c.name },
            el('td', {}, c.name),
            el('td', {}, c.image || '-'),
            el('td', {}, statusTag(c.lastStatus)),
            el('td', { class: 'num exit-code' }, c.exitCode ?? '-'),
            el('td', { class: 'reason' }, c.reason || ''),
            el('td', {}, c.healthStatus || '-'),
            el('td', {}, b));
        }), 'No containers.'));
    },
  };
}

// ---------------------------------------------------------------- task definitions

function familiesView() {
  const list = el('div', { id: 'families' });
  const p = page('Task definitions', crumbs('Task definitions'), list);
  return {
    ...p,
    update: async () => {
      const families = await ecsAll('ListTaskDefinitionFamilies', { status: 'ALL' }, 'families');
      families.sort();
      replace(list, table('families-table', ['Family'],
        families.map(f => el('tr', { 'data-family': f }, el('td', {}, link(f, 'family', f)))),
        'No task definitions.'));
    },
  };
}

const REVISION_STATUSES = ['ACTIVE', 'INACTIVE', 'DELETE_IN_PROGRESS'];

async function revisionsOf(family) {
  const revs = [];
  for (const status of REVISION_STATUSES) {
    const arns = await ecsAll('ListTaskDefinitions', { familyPrefix: family, status }, 'taskDefinitionArns', 5000);
    for (const arn of arns) {
      const [fam, rev] = taskDefName(arn).split(':');
      if (fam === family) revs.push({ arn, revision: Number(rev), status });
    }
  }
  return revs.sort((a, b) => b.revision - a.revision);
}

function deregisterButton(family, revision) {
  const b = el('button', { class: 'danger deregister', 'data-revision': String(revision) }, 'Deregister');
  b.addEventListener('click', () => action(b, `${family}:${revision} deregistered.`,
    () => ecs('DeregisterTaskDefinition', { taskDefinition: `${family}:${revision}` })));
  return b;
}

function familyView(family) {
  const list = el('div', { id: 'revisions' });
  const from = el('select', { id: 'diff-from' });
  const to = el('select', { id: 'diff-to' });
  const go = el('button', { id: 'diff-go' }, 'Compare');
  go.addEventListener('click', () => { location.hash = route('diff', `${family}:${from.value}`, `${family}:${to.value}`); });
  const p = page(family, crumbs(link('Task definitions', 'taskdefs'), family),
    el('div', { class: 'actions' }, 'Compare revision ', from, ' with ', to, go),
    list);
  return {
    ...p,
    update: async () => {
      const revs = await revisionsOf(family);
      const options = revs.map(r => String(r.revision));
      for (const [sel, pick] of [[from, options[1] || options[0]], [to, options[0]]]) {
        const keep = sel.value;
        replace(sel, options.map(o => el('option', { value: o }, o)));
        sel.value = options.includes(keep) ? keep : pick;
      }
      replace(list, table('revisions-table', ['Revision', 'Status', ''],
        revs.map(r => el('tr', { 'data-revision': String(r.revision) },
          el('td', {}, link(`${family}:${r.revision}`, 'taskdef', `${family}:${r.revision}`)),
          el('td', { class: 'revision-status' }, statusTag(r.status)),
          el('td', {}, r.status === 'ACTIVE' ? deregisterButton(family, r.revision) : null))),
        'No revisions.'));
    },
  };
}

function containerDefinitionNode(c) {
  const env = c.environment || [];
  return el('div', { class: 'container-def', 'data-container': c.name },
    el('h2', {}, `Container ${c.name}`),
    facts([
      ['Image', c.image], ['Essential', String(c.essential ?? true)],
      ['CPU', c.cpu !== undefined ? String(c.cpu) : '-'], ['Memory', c.memory !== undefined ? String(c.memory) : '-'],
      ['Command', c.command ? JSON.stringify(c.command) : '-'],
      ['Entry point', c.entryPoint ? JSON.stringify(c.entryPoint) : '-'],
      ['Port mappings', (c.portMappings || []).map(m => `${m.hostPort ?? ''}:${m.containerPort}/${m.protocol || 'tcp'}`).join(', ') || '-'],
      ['Log driver', c.logConfiguration ? `${c.logConfiguration.logDriver} ${JSON.stringify(c.logConfiguration.options || {})}` : '-'],
    ]),
    table(null, ['Environment variable', 'Value'],
      env.map(e => el('tr', { class: 'env', 'data-name': e.name }, el('td', {}, e.name), el('td', { class: 'env-value' }, e.value ?? ''))),
      'No environment variables.'));
}

function taskDefView(name) {
  const family = name.split(':')[0];
  const summary = el('div', { id: 'taskdef-summary' });
  const body = el('div', {});
  const actions = el('div', { class: 'actions' });
  const p = page(name, crumbs(link('Task definitions', 'taskdefs'), link(family, 'family', family), name), actions, summary, body);
  return {
    ...p,
    update: async () => {
      const out = await ecs('DescribeTaskDefinition', { taskDefinition: name, include: ['TAGS'] });
      const td = out.taskDefinition;
      replace(actions,
        td.status === 'ACTIVE' ? deregisterButton(td.family, td.revision) : null,
        td.revision > 1 ? link(`Diff with revision ${td.revision - 1}`, 'diff', `${td.family}:${td.revision - 1}`, `${td.family}:${td.revision}`) : null);
      replace(summary, facts([
        ['ARN', td.taskDefinitionArn], ['Status', el('span', { id: 'taskdef-status' }, statusTag(td.status))],
        ['Registered', when(td.registeredAt)], ['Deregistered', when(td.deregisteredAt)],
        ['Network mode', td.networkMode || '-'], ['Compatibilities', (td.requiresCompatibilities || []).join(', ') || '-'],
        ['CPU', td.cpu || '-'], ['Memory', td.memory || '-'],
        ['Task role', td.taskRoleArn || '-'], ['Execution role', td.executionRoleArn || '-'],
      ]));
      replace(body, (td.containerDefinitions || []).map(containerDefinitionNode),
        el('h2', {}, 'JSON'), el('pre', { id: 'taskdef-json' }, JSON.stringify(td, null, 2)));
    },
  };
}

// flatten turns a task definition into path -> value. Arrays of objects
// with a name (containers, environment, ports by name) are keyed by it, so
// adding one container does not make every later one look changed.
function flatten(v, path, out) {
  if (Array.isArray(v)) {
    const named = v.length && v.every(x => x && typeof x === 'object' && typeof x.name === 'string');
    v.forEach((x, i) => flatten(x, `${path}[${named ? x.name : i}]`, out));
    if (!v.length) out.set(path, '[]');
  } else if (v && typeof v === 'object') {
    for (const k of Object.keys(v).sort()) flatten(v[k], path ? `${path}.${k}` : k, out);
  } else {
    out.set(path, JSON.stringify(v));
  }
  return out;
}

// Members that differ between any two revisions and say nothing.
const DIFF_SKIP = new Set(['taskDefinitionArn', 'revision', 'registeredAt', 'registeredBy', 'deregisteredAt']);

function diffView(a, b) {
  const family = String(a).split(':')[0];
  const result = el('div', { id: 'diff' });
  const p = page(`${a} → ${b}`, crumbs(link('Task definitions', 'taskdefs'), link(family, 'family', family), 'Diff'), result);
  return {
    ...p,
    update: async () => {
      const [x, y] = await Promise.all([a, b].map(n => ecs('DescribeTaskDefinition', { taskDefinition: n }).then(o => o.taskDefinition)));
      const strip = td => Object.fromEntries(Object.entries(td).filter(([k]) => !DIFF_SKIP.has(k)));
      const fx = flatten(strip(x), '', new Map());
      const fy = flatten(strip(y), '', new Map());
      const paths = [...new Set([...fx.keys(), ...fy.keys()])].sort();
      const rows = [];
      for (const path of paths) {
        const u = fx.get(path), v = fy.get(path);
        if (u === v) continue;
        const kind = u === undefined ? 'added' : v === undefined ? 'removed' : 'changed';
        rows.push(el('tr', { class: 'diff-' + kind, 'data-path': path },
          el('td', { class: 'path' }, path), el('td', {}, kind),
          el('td', { class: 'old' }, u ?? ''), el('td', { class: 'new' }, v ?? '')));
      }
      replace(result, table('diff-table', ['Member', 'Change', a, b], rows, 'The two revisions are the same.'));
    },
  };
}

// A bug in the page shows itself rather than leaving a blank view.
window.addEventListener('error', (ev) => showError(ev.error || ev.message));
window.addEventListener('unhandledrejection', (ev) => showError(ev.reason));
window.addEventListener('hashchange', render);
render();
