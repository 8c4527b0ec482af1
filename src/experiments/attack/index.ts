/** The side-channel attack and covert channel (attack.ts), with the host's figures (run-attack.ts). */
export { measureAttack, resolveAttack, chanceBound, median, ATTACK_DEFAULTS, TRIALS_PER_ROUND, type AttackRequest, type AttackMeasurement } from "./attack.ts";
export { runAttack, attackResult, hostRequest, ATTACK_SCHEMA, type AttackResult, type HostRunner } from "./run-attack.ts";
export { attackHost, ATTACK_GUEST_PAGES } from "./attack-host.ts";
export { runSecurityMatrix, rowOf, type SecurityRow, type SecuritySection, type SecurityPlan } from "./security-matrix.ts";
