// Who wrote a conflict's candidate, as the person deciding reads it: the account's display name (the server
// sends it as `userName`; `known` is a name this device already holds for the account), with the device's name
// (`deviceName`) when it gave itself one; the device's name alone when the account is unknown; never an id.
export function candidateAuthor(candidate, known = '') {
  return { user: candidate?.userName || known || '', device: candidate?.deviceName || '' };
}

export function candidateAuthorText(t, candidate, known = '') {
  const { user, device } = candidateAuthor(candidate, known);
  if (user && device) return t('nav.conflictSide', { user, device });
  if (user) return user;
  return device ? t('nav.conflictDevice', { device }) : t('nav.conflictSomeone');
}

// The name this device already holds for an account: a team member's, the designated resolver's, or the
// signed-in person's own (`listed`: the inspection's assignment row; `me`: the session's user); '' otherwise.
export function knownName(listed, me, userId) {
  const member = (listed?.team || []).find((m) => m.userId === userId);
  if (member) return member.displayName || member.username;
  if (listed?.resolver && listed.resolver.userId === userId) return listed.resolver.displayName || listed.resolver.username;
  return userId === me?.id ? me.displayName || me.username : '';
}
