/**
 * `tandem/nats`: distributed mode's adapters and services. The same ports as the embedded runtime
 * (Bus, Store, WorkQueue) over NATS core subjects, JetStream work queues and KV, and the supervisor
 * and role services that `tandem serve` runs.
 */
export { connectNats } from './bus/nats-connection.js';
export type { ConnectNatsOptions, NatsLogger } from './bus/nats-connection.js';
export { NatsSettingsSchema, natsSettingsFromEnv, describeNatsSettings, redactNatsUrl } from './bus/nats-settings.js';
export type { NatsSettings, NatsSettingsInput } from './bus/nats-settings.js';
export { createNatsBus } from './bus/nats-bus.js';
export { openKvStore } from './store/kv-store.js';
export { openNatsWorkQueue } from './queue/nats-work-queue.js';
export type { NatsWorkQueueOptions } from './queue/nats-work-queue.js';
export { roleQueue, submissionsQueue, WorkQueueSpecSchema } from './queue/work-queue.js';
export type { WorkQueue, WorkQueueSpec, WorkQueueSpecInput, WorkDelivery, WorkConsumer } from './queue/work-queue.js';
export { RoleRunMessageSchema, RoleResultMessageSchema, StoredRoleResultSchema } from './model/role-work.js';
export type { RoleRunMessage, RoleResultMessage, StoredRoleResult } from './model/role-work.js';
export type { RoleExecutor, WorkContext } from './roles/role-executor.js';
export { createRemoteExecutor } from './distributed/remote-executor.js';
export type { RemoteExecutor, RemoteExecutorOptions } from './distributed/remote-executor.js';
export { patientStore } from './distributed/patient-store.js';
export type { PatientStoreOptions } from './distributed/patient-store.js';
export { createTaskLeases } from './distributed/task-leases.js';
export type { LeaseStatus, TaskLeases, TaskLeasesOptions } from './distributed/task-leases.js';
export { startSupervisorService } from './distributed/supervisor-service.js';
export type { SupervisorService, SupervisorServiceOptions } from './distributed/supervisor-service.js';
export { startRoleService } from './distributed/role-service.js';
export type { RoleService, RoleServiceOptions, RoleServiceStats } from './distributed/role-service.js';
