// The rule lives in @herald/protocol, shared with the receiver's processor.
export { isEndedLocalOwner, newOwnerId } from '@herald/protocol';
