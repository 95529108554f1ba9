package workflows

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/kithhq/kith"
	"github.com/kithhq/kith/activities"
	"github.com/kithhq/kith/quality"
)

// ContactService implements kith.ContactService and kith.CRMSyncs on a Temporal
// client: it lives here because these workflows own the wire names it uses.
type ContactService struct {
	Client   client.Client
	Profiles kith.ProfileStore
	Claims   kith.ClaimStore
	// Merges undoes merges (Unmerge).
	Merges kith.MergeStore
	// Input is the start input of new contacts' workflows (tests lower the
	// continue-as-new threshold); ContactID is filled in.
	Input ContactInput
	// PublicURL is where people open the links Kith sends (claim verification).
	PublicURL string
	// Wait bounds how long a call waits for a contact's workflow (default 15 s):
	// a contact with too much in flight answers kith.CodeBusy, one that cannot
	// finish in time kith.CodeUnavailable, instead of holding the caller.
	Wait time.Duration
	// ClaimTTL is how long a claim's link stays valid (default 24 h);
	// ClaimsPerDay bounds the verification messages one contact gets (default 3).
	ClaimTTL     time.Duration
	ClaimsPerDay int
	Now          func() time.Time
}

var (
	_ kith.ContactService  = (*ContactService)(nil)
	_ kith.CRMSyncs        = (*ContactService)(nil)
	_ kith.ContactNotifier = (*ContactService)(nil)
	_ kith.Unmerger        = (*ContactService)(nil)
)

func (s *ContactService) wait(ctx context.Context) (context.Context, context.CancelFunc) {
	d := s.Wait
	if d <= 0 {
		d = 15 * time.Second
	}
	return context.WithTimeout(ctx, d)
}

func (s *ContactService) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Lookup implements kith.ContactService.
func (s *ContactService) Lookup(ctx context.Context, id kith.Identity) (string, error) {
	return s.Profiles.ContactIDFor(ctx, id)
}

// Resolve implements kith.ContactService.
func (s *ContactService) Resolve(ctx context.Context, ids []kith.Identity, src kith.Source) (string, bool, error) {
	newID := kith.NewContactID()
	id, err := s.Profiles.ResolveContact(ctx, ids, newID, src)
	return id, id == newID, err
}

// Link implements kith.ContactService.
func (s *ContactService) Link(ctx context.Context, contactID string, id kith.Identity, src kith.Source) error {
	return s.Profiles.LinkIdentity(ctx, contactID, id, src)
}

// Submit implements kith.ContactService: the first submission creates the
// workflow, the update id (the submission id) makes a redelivery a no-op.
func (s *ContactService) Submit(ctx context.Context, req kith.SubmitRequest) (kith.ContactView, error) {
	return s.update(ctx, req.Submission.ContactID, "submit/"+req.Submission.SubmissionID, UpdateSubmit, req)
}

// ChangeConsent implements kith.ContactService. It starts the workflow of a
// contact that has none yet (an imported one), so anyone can withdraw.
func (s *ContactService) ChangeConsent(ctx context.Context, contactID string, ch kith.ConsentChange) (kith.ContactView, error) {
	return s.update(ctx, contactID, "consent/"+ch.Record.Purpose+"/"+ch.Record.SourceRef, UpdateConsent, ch)
}

// update sends one update to the contact's workflow with Update-With-Start and
// waits, within s.Wait, for its result.
func (s *ContactService) update(ctx context.Context, contactID, updateID, name string, arg any) (kith.ContactView, error) {
	ctx, cancel := s.wait(ctx)
	defer cancel()
	start := s.Client.NewWithStartWorkflowOperation(ContactStartOptions(contactID), ContactLifecycleName, s.input(contactID))
	h, err := s.Client.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateID: updateID, UpdateName: name, Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	return s.view(ctx, h, err)
}

// input is the start input of a contact's workflow.
func (s *ContactService) input(contactID string) ContactInput {
	in := s.Input
	in.ContactID = contactID
	return in
}

func (s *ContactService) view(ctx context.Context, h client.WorkflowUpdateHandle, err error) (kith.ContactView, error) {
	if err != nil {
		return kith.ContactView{}, serviceError(ctx, err)
	}
	var v ContactView
	if err := h.Get(ctx, &v); err != nil {
		return kith.ContactView{}, serviceError(ctx, err)
	}
	return publicView(v), nil
}

// publicView is what the API may show of the workflow's view.
func publicView(v ContactView) kith.ContactView {
	return kith.ContactView{ContactID: v.ContactID, Fields: v.Fields, Consents: v.Consents,
		Completeness: v.Completeness, Stage: v.Stage}
}

// serviceError gives a Temporal error its kith code.
func serviceError(ctx context.Context, err error) error {
	var app *temporal.ApplicationError
	var nf *serviceerror.NotFound
	var busy *serviceerror.ResourceExhausted
	var late *serviceerror.DeadlineExceeded
	var down *serviceerror.Unavailable
	switch {
	case errors.As(err, &app) && app.Type() == activities.ErrInvalid:
		e := &kith.Error{Code: kith.CodeInvalid, Message: app.Message()}
		if app.HasDetails() {
			app.Details(&e.Violations)
		}
		return e
	case errors.As(err, &nf):
		return &kith.Error{Code: kith.CodeNotFound, Message: "there is no such contact"}
	case errors.As(err, &busy):
		return &kith.Error{Code: kith.CodeBusy, Message: "this contact has too many changes in flight; retry in a few seconds"}
	case ctx.Err() != nil, errors.As(err, &late), errors.As(err, &down):
		return &kith.Error{Code: kith.CodeUnavailable, Message: "the change could not be completed in time; retry with the same id"}
	}
	return fmt.Errorf("contact workflow: %w", err)
}

// Confirm implements kith.ContactService: the token is checked against the
// pending opt-in before the signal is sent, so a wrong token and an unknown
// contact answer alike (CodeNotFound).
func (s *ContactService) Confirm(ctx context.Context, contactID string, c kith.OptInConfirmation) error {
	notValid := &kith.Error{Code: kith.CodeNotFound, Message: "this link is not valid"}
	v, err := s.query(ctx, contactID)
	if err != nil {
		if kith.ErrorCode(err) == kith.CodeNotFound {
			return notValid
		}
		return err
	}
	p, ok := v.Pending[c.Purpose]
	if !ok || subtle.ConstantTimeCompare([]byte(p.Token), []byte(c.Token)) != 1 {
		return notValid
	}
	if err := s.Client.SignalWorkflow(ctx, ContactWorkflowID(contactID), "", SignalConfirm, c); err != nil {
		return serviceError(ctx, err)
	}
	return nil
}

func (s *ContactService) query(ctx context.Context, contactID string) (ContactView, error) {
	var v ContactView
	res, err := s.Client.QueryWorkflow(ctx, ContactWorkflowID(contactID), "", QueryState)
	if err != nil {
		return v, serviceError(ctx, err)
	}
	return v, res.Get(&v)
}

// State implements kith.ContactService: the workflow's state, or for a contact
// that has no workflow yet (an imported one) what the store has.
func (s *ContactService) State(ctx context.Context, contactID string) (kith.ContactView, error) {
	v, err := s.query(ctx, contactID)
	if err == nil {
		return publicView(v), nil
	}
	if kith.ErrorCode(err) != kith.CodeNotFound {
		return kith.ContactView{}, err
	}
	c, err := s.Profiles.Contact(ctx, contactID)
	if err != nil {
		return kith.ContactView{}, err
	}
	consents, err := s.Profiles.Consents(ctx, contactID)
	if err != nil {
		return kith.ContactView{}, err
	}
	r := DefaultContactRules()
	return kith.ContactView{ContactID: contactID, Fields: c.Fields, Consents: consents,
		Completeness: quality.Score(c.Fields, r.Weights).Score, Stage: stage(c.Fields, consents, r)}, nil
}

// claimLink is the kind of outbox message that carries a claim's link.
const claimLink = "verify_claim"

// Claim implements kith.ContactService: the claim is held under the hash of a
// fresh token, and the link goes to the address the contact has on file (never
// to one the claimant typed).
func (s *ContactService) Claim(ctx context.Context, c kith.Claim) error {
	token := rand.Text()
	link := s.PublicURL + "/v1/claims/verify?" + url.Values{"token": {token}}.Encode()
	payload, err := json.Marshal(map[string]string{"link": link})
	if err != nil {
		return err
	}
	ttl, limit := s.ClaimTTL, s.ClaimsPerDay
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	if limit <= 0 {
		limit = 3
	}
	msg := kith.OutboxMessage{ID: claimLink + "/" + c.ContactID + "/" + c.Request.Submission.SubmissionID,
		Kind: claimLink, ContactID: c.ContactID, Payload: payload}
	_, err = s.Claims.HoldClaim(ctx, c, tokenHash(token), c.At.Add(ttl), limit, msg)
	return err
}

// VerifyClaim implements kith.ContactService.
func (s *ContactService) VerifyClaim(ctx context.Context, token, browser string) (kith.ContactView, error) {
	c, err := s.Claims.TakeClaim(ctx, tokenHash(token), browser, s.now())
	if err != nil {
		return kith.ContactView{}, err
	}
	sub := c.Request.Submission
	if sub.AnonymousID != "" {
		// The same browser proved it reads the contact's mail: its anonymous id
		// (and what it did before) joins the contact.
		if err := s.Link(ctx, c.ContactID, kith.Identity{Kind: kith.IdentityAnonymous, Value: sub.AnonymousID}, kith.SourceForm); err != nil {
			return kith.ContactView{}, err
		}
	}
	return s.Submit(ctx, c.Request)
}

// tokenHash is how a link token is stored: whoever reads the table cannot
// open the links.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NotifyContact implements kith.ContactNotifier.
func (s *ContactService) NotifyContact(ctx context.Context, ch kith.ProfileChange) error {
	return s.signal(ctx, ch.ContactID, SignalProfileChanged, ch)
}

// NotifyEvent implements kith.ContactNotifier.
func (s *ContactService) NotifyEvent(ctx context.Context, contactID string, e kith.EventNotice) error {
	return s.signal(ctx, contactID, SignalEvent, e)
}

// NotifyMerged implements kith.ContactNotifier.
func (s *ContactService) NotifyMerged(ctx context.Context, contactID string, n kith.MergeNotice) error {
	return s.signal(ctx, contactID, SignalMerged, n)
}

// Unmerge implements kith.Unmerger: the store undoes the merge (and keeps the
// pair apart), then both contacts' workflows reload their profiles and the
// merged one is its own again.
func (s *ContactService) Unmerge(ctx context.Context, mergeID int64, actor string) (kith.Unmerged, error) {
	u, err := s.Merges.Unmerge(ctx, mergeID, actor)
	if err != nil {
		return u, err
	}
	n := kith.MergeNotice{ID: fmt.Sprintf("unmerge/%d", mergeID), SurvivorID: u.SurvivorID, MergedID: u.MergedID, Undone: true}
	for _, id := range []string{u.MergedID, u.SurvivorID} {
		if err := s.NotifyMerged(ctx, id, n); err != nil {
			return u, fmt.Errorf("merge %d undone, but contact %s's workflow was not told: %w", mergeID, id, err)
		}
	}
	return u, nil
}

// NotifyRunning implements kith.ContactNotifier.
func (s *ContactService) NotifyRunning(ctx context.Context, contactID string, e kith.EventNotice) error {
	err := s.Client.SignalWorkflow(ctx, ContactWorkflowID(contactID), "", SignalEvent, e)
	var missing *serviceerror.NotFound
	if errors.As(err, &missing) {
		return nil
	}
	return err
}

// signal sends a signal to the contact's workflow, starting it if it has none.
func (s *ContactService) signal(ctx context.Context, contactID, name string, arg any) error {
	_, err := s.Client.SignalWithStartWorkflow(ctx, ContactWorkflowID(contactID), name, arg,
		ContactStartOptions(contactID), ContactLifecycleName, s.input(contactID))
	return err
}

// StartCRMSync implements kith.CRMSyncs.
func (s *ContactService) StartCRMSync(ctx context.Context, in kith.CRMSyncEvent) error {
	_, err := s.Client.ExecuteWorkflow(ctx, CRMSyncStartOptions(in.Provider, in.EventID), CRMSyncName, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil // a redelivery of an event already synced
	}
	return err
}
