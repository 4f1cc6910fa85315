package runbook

import (
	"slices"
	"strings"
	"testing"

	"github.com/icconsole/ic/docs"
)

// The facts below come from the seed documents (../shared/seeds) and were
// wrong in the books once. Each is pinned so a later edit that breaks it
// fails here, with the seed's words in the message.

func shipped(t *testing.T) *Catalog {
	t.Helper()
	cat, probs := Load(docs.Runbooks(), "docs/runbooks")
	for _, p := range probs {
		t.Error(p)
	}
	return cat
}

// TestOpsNumberingFollowsTheSeed: the seed's reference list says "E-series
// Key Custody & Identity — referenced by O-105 (key compromise) and O-202
// (treasury sweep)"; its revision note: eight incident procedures O-101
// through O-108, five routines O-201 through O-205.
func TestOpsNumberingFollowsTheSeed(t *testing.T) {
	cat := shipped(t)
	for id, want := range map[string]string{"O-105": "Key compromise", "O-202": "Treasury sweep", "O-020": "First Response Discipline", "O-900": "Post-incident discipline", "O-700": "BLS sync-committee verifier primitive"} {
		if p, ok := cat.Procedure(id); !ok || p.Title != want {
			t.Errorf("%s is %v, want %q", id, p, want)
		}
	}
	for _, id := range []string{"O-101", "O-102", "O-103", "O-104", "O-105", "O-106", "O-107", "O-108"} {
		if p, ok := cat.Procedure(id); !ok || p.Kind != Incident {
			t.Errorf("%s should be an incident procedure", id)
		}
	}
	for _, id := range []string{"O-201", "O-202", "O-203", "O-204", "O-205"} {
		if p, ok := cat.Procedure(id); !ok || p.Kind != Routine {
			t.Errorf("%s should be a routine", id)
		}
	}
	// Ledgers written before the renumbering cite the old ids, versions and
	// hashes; each must still lead to the procedure that was followed.
	for _, c := range []struct {
		id      string
		version int
		hash    string
		want    string
	}{
		{"O-104", 2, "f0bf99ae9bc5b887fb0ca43573f7f4c0fee363e0f6cc497a7ec63701e88f3bb4", "O-105"},
		{"O-105", 1, "de19eb09bf6fee645339841e338578ccecc686fb600494ae93a42645831f545a", "O-106"},
		{"O-106", 1, "b414affea29f26949ed8c4b579b07c8d53fc74e5e9ec9161dbb338dc80c5d084", "O-104"},
		{"O-202", 1, "bd26eafb90cfd4503d17f246e3acc39e730e4e7db464697c2d28e78a8c551da9", "O-204"},
		{"O-203", 1, "e63c73b54b3ec297c084884f0db6c7de432ebeaefcc4433e76315aa2cd270420", "O-202"},
		{"O-204", 1, "fe7ce15102bcadbb984d6bd3d2d2c10b5fe86bb93e7d469e276be48de2ec4168", "O-203"},
	} {
		for _, hash := range []string{c.hash, ""} {
			p, note, ok := cat.ResolveCited(c.id, c.version, hash)
			if !ok || p.ID != c.want || !strings.HasPrefix(note, c.id+" v") || !strings.Contains(note, "is now "+c.want) {
				t.Errorf("citation %s v%d (hash %t) resolves to %v, %q, %v; want %s", c.id, c.version, hash != "", p, note, ok, c.want)
			}
		}
	}
	if p, note, _ := cat.Resolve("O-104", 0); p.ID != "O-104" || !strings.Contains(note, "the procedure cited as O-104 v2 is now O-105 (Key compromise)") {
		t.Errorf("Resolve(O-104) = %s, %q", p.ID, note)
	}
	for _, id := range []string{"O-701", "O-702"} {
		if _, note, ok := cat.Resolve(id, 0); ok || !strings.Contains(note, "is not in the books") {
			t.Errorf("%s: the seed's device runbook should be named as kept elsewhere, got %q", id, note)
		}
	}
}

// TestOpsSeedFacts: what the seed says that a book once got wrong.
func TestOpsSeedFacts(t *testing.T) {
	cat := shipped(t)
	o107, _ := cat.Procedure("O-107")
	deny := o107.Steps[1].Text + " " + o107.Steps[1].Detail
	// O-700: "Not a code defect; do not file an incident."
	if !strings.Contains(deny, "environment_deny is not a code defect and not an incident: do not file one") {
		t.Errorf("O-107 step 2 must say an environment deny is not an incident: %q", deny)
	}
	if slices.ContainsFunc(o107.Triggers, func(s string) bool { return strings.Contains(strings.ToLower(s), "allowlist") }) {
		t.Errorf("O-107 is triggered by an allowlist denial, which the seed says is not an incident: %v", o107.Triggers)
	}
	o700, _ := cat.Procedure("O-700")
	for _, code := range []string{
		"| 1 | signature verified |",
		"| 0 | signature invalid |",
		"| -1 | signature parse failed (not a valid 96-byte G2 point) |",
		"| -2 | no pubkeys provided (`pubkeys_len == 0`) |",
		"| -3 | aggregation failed (subgroup check or internal blst error) |",
		"| -4 | malformed pubkey chunk (any 48-byte slice that is not a valid G1 point) |",
		"O-701", "O-702", "bls-device/", "paxiom/docs/sync-committee-service.md", "PXM-G-100",
	} {
		if !strings.Contains(string(o700.Body), code) {
			t.Errorf("O-700 lacks %q", code)
		}
	}
	o020, _ := cat.Procedure("O-020")
	if !strings.HasPrefix(o020.Steps[0].Text, "Pause for 30 seconds") || !strings.Contains(o020.Steps[1].Detail, "based on bad output from Paxiom? Yes to any of them: SEV-1.") {
		t.Errorf("O-020 steps 1-2 = %q / %q", o020.Steps[0].Text, o020.Steps[1].Detail)
	}
	o202, _ := cat.Procedure("O-202")
	for _, s := range []string{"K-002", "K-006", "E-301", "not a treasury disbursement"} {
		if !strings.Contains(string(o202.Body), s) {
			t.Errorf("O-202 lacks %q", s)
		}
	}
}

// TestAtlasZeroNamesAsAZ015: severities (§4.1), states (§5.1), classes
// (§3.1), roles (§6.1), profiles (§8.2) and recovery modes (§26.1) exactly
// as AZ-015 writes them.
func TestAtlasZeroNamesAsAZ015(t *testing.T) {
	cat := shipped(t)
	az, ok := cat.Book("atlas-zero")
	if !ok {
		t.Fatal("no atlas-zero book")
	}
	pol := az.Policy
	var sev []string
	for _, s := range pol.Severities {
		sev = append(sev, s.ID)
	}
	if want := []string{"SEV_0_INFO", "SEV_1_LOW", "SEV_2_MEDIUM", "SEV_3_HIGH", "SEV_4_CRITICAL", "SEV_5_SYSTEMIC"}; !slices.Equal(sev, want) {
		t.Errorf("severities = %v, want AZ-015 §4.1's %v", sev, want)
	}
	if pol.SeverityIDs()[0] != "SEV_5_SYSTEMIC" {
		t.Errorf("worst = %s", pol.SeverityIDs()[0])
	}
	if want := []string{"DETECTED", "TRIAGED", "CONFIRMED", "CONTAINING", "STABILIZED", "RECOVERING", "MONITORING", "CLOSED", "POSTMORTEM_PENDING", "POSTMORTEM_PUBLISHED"}; !slices.Equal(pol.Lifecycle.States, want) {
		t.Errorf("states = %v, want AZ-015 §5.1's %v", pol.Lifecycle.States, want)
	}
	if want := []string{"INC_CONSENSUS", "INC_VALIDATION", "INC_BVM", "INC_WITNESS_PROOF", "INC_ECONOMIC", "INC_AGENT_CONTROL", "INC_GOVERNANCE", "INC_KEY_COMPROMISE", "INC_INFRASTRUCTURE", "INC_SUPPLY_CHAIN", "INC_OBSERVABILITY_ONLY"}; !slices.Equal(pol.IncidentClassIDs(), want) {
		t.Errorf("incident classes = %v, want AZ-015 §3.1's %v", pol.IncidentClassIDs(), want)
	}
	var roles []string
	for _, r := range pol.Roles {
		roles = append(roles, r.Name)
	}
	if want := []string{"Incident Reporter", "On-call Operator", "Incident Commander", "Consensus Lead", "Execution/BVM Lead", "Security Lead", "Governance Liaison", "Recovery Operator", "Audit Scribe"}; !slices.Equal(roles, want) {
		t.Errorf("roles = %v, want AZ-015 §6.1's %v", roles, want)
	}
	if want := []string{"RP_OBSERVE_ONLY", "RP_LOCAL_DEGRADED", "RP_SAFE_MODE_SCOPED", "RP_HALT_SCOPED", "RP_EMERGENCY_RESTRICTION", "RP_PROTOCOL_RECOVERY", "RP_FORENSIC_ONLY"}; !slices.Equal(pol.Terms["response_profiles"], want) {
		t.Errorf("response profiles = %v, want §8.2's %v", pol.Terms["response_profiles"], want)
	}
	if want := []string{"RM_LOCAL_REBUILD", "RM_FINALIZED_REPLAY", "RM_SPECULATIVE_BRANCH_RESET", "RM_PROTOCOL_SAFE_RESTART", "RM_DOMAIN_REENABLE", "RM_POST_EMERGENCY_NORMALIZATION"}; !slices.Equal(pol.Terms["recovery_modes"], want) {
		t.Errorf("recovery modes = %v, want §26.1's %v", pol.Terms["recovery_modes"], want)
	}
	// A ledger from before the rename still reads.
	if now, ok := pol.CurrentSeverity("SEV_2_MODERATE"); !ok || now != "SEV_2_MEDIUM" {
		t.Errorf("SEV_2_MODERATE should read as SEV_2_MEDIUM, got %s %v", now, ok)
	}
	// AZ-015 gives no cadence: none below SEV_3_HIGH, where the book's own
	// choice is stated in book.yaml and RB-MODEL-001.
	for _, s := range []string{"SEV_0_INFO", "SEV_1_LOW", "SEV_2_MEDIUM"} {
		if pol.UpdateCadence(s) != 0 {
			t.Errorf("%s has a status-update cadence AZ-015 does not give", s)
		}
	}
	// §5.2: no critical incident closes without evidence, recovery state and review.
	for _, s := range []string{"SEV_4_CRITICAL", "SEV_5_SYSTEMIC"} {
		if got := pol.CloseRequirements(s); len(got) != 3 || got["evidence"] == nil || got["recovery"] == nil || got["review"] == nil {
			t.Errorf("%s close requirements = %v", s, got)
		}
	}
}

// TestAtlasZeroAuditTrail: §32.1's ten items, for SEV_3+ only.
func TestAtlasZeroAuditTrail(t *testing.T) {
	cat := shipped(t)
	az, _ := cat.Book("atlas-zero")
	var items []string
	for _, it := range az.Policy.AuditTrailFor("SEV_3_HIGH") {
		items = append(items, it.Item)
	}
	want := []string{"incident id", "timeline of events", "who declared severity", "who declared containment profile", "affected scopes", "evidence references", "protocol objects used for restriction/recovery", "replay/rebuild results", "restart criteria and sign-off", "postmortem link/hash"}
	if !slices.Equal(items, want) {
		t.Errorf("audit trail = %q, want §32.1's %q", items, want)
	}
	if az.Policy.AuditTrailFor("SEV_2_MEDIUM") != nil {
		t.Error("the audit trail applies to SEV_3+ incidents only")
	}
}

// TestAtlasZeroRunbooksInOrder: the RB-* runbooks carry AZ-015's steps in
// its order (the book once had RB-REENABLE-001 backwards and RB-WITNESS-001
// about something else).
func TestAtlasZeroRunbooksInOrder(t *testing.T) {
	cat := shipped(t)
	steps := func(id string) []string {
		p, ok := cat.Procedure(id)
		if !ok {
			t.Fatalf("%s missing", id)
		}
		var out []string
		for _, s := range p.Steps {
			if !s.Task {
				out = append(out, s.Text)
			}
		}
		return out
	}
	if got, want := steps("RB-REENABLE-001"), []string{"Observer/indexer paths.", "RPC, read-only.", "Validation-only participation.", "The verifier role, if safe.", "The proposer role, if safe.", "The notary role, last.", "Agent execution domains, last among the application domains, if the incident touched them."}; !slices.Equal(got, want) {
		t.Errorf("RB-REENABLE-001 = %q\nwant §30.1's order %q", got, want)
	}
	w := steps("RB-WITNESS-001")
	if len(w) != 7 || !strings.HasPrefix(w[0], "Preserve the witness/proof objects and the issuer policies") || !strings.Contains(w[2], "quarantine the issuer and require corroboration") || !strings.HasPrefix(w[6], "Define the revalidation plan") {
		t.Errorf("RB-WITNESS-001 does not follow §17.2: %q", w)
	}
	if got := steps("RB-TRIAGE-001"); len(got) != 11 || !strings.HasPrefix(got[0], "Detect") || !strings.HasPrefix(got[10], "Publish the postmortem") {
		t.Errorf("RB-TRIAGE-001 should be §9.1's eleven rungs: %q", got)
	}
	for class, id := range map[string]string{"INC_CONSENSUS": "RB-CONSENSUS-001", "INC_WITNESS_PROOF": "RB-WITNESS-001", "INC_SUPPLY_CHAIN": "RB-SUPPLY-001"} {
		if got := cat.Filter(Filter{Book: "atlas-zero", Class: class}); len(got) != 1 || got[0].ID != id {
			t.Errorf("class %s finds %v, want %s", class, got, id)
		}
	}
	for _, q := range []string{"containment matrix", "quarantine", "safe mode", "drill", "RP_HALT_SCOPED"} {
		if len(cat.Filter(Filter{Book: "atlas-zero", Query: q})) == 0 {
			t.Errorf("search %q finds nothing in atlas-zero", q)
		}
	}
}

// TestAVS001FreezesTheSuspectCohort: the seed's SEV-1 card, step by step:
// "IC declares SEV-1; start timeline. Freeze signers on suspect cohort."
// The book once stopped every signer; the first mitigation is the suspect
// cohort's freeze, and the fleet is never named for it.
func TestAVS001FreezesTheSuspectCohort(t *testing.T) {
	p, ok := shipped(t).Procedure("AVS-001")
	if !ok || len(p.Steps) != 6 {
		t.Fatalf("AVS-001: %v, want the card's six steps", p)
	}
	if !strings.Contains(p.Steps[0].Text, "declares SEV-1") {
		t.Errorf("AVS-001 step 1 is %q, want the IC declaring SEV-1", p.Steps[0].Text)
	}
	first := p.Steps[1].Text
	if !strings.Contains(first, "Freeze signers on the suspect cohort") || strings.Contains(strings.ToLower(first), "all signers") || strings.Contains(strings.ToLower(first), "every signer") {
		t.Errorf("AVS-001's first mitigation is %q, want the suspect cohort frozen, not every signer", first)
	}
	for i, want := range []string{"Isolate", "evidence capture", "Roll back if the symptom persists > 5m", "15m, 30m, 60m"} {
		if !strings.Contains(p.Steps[i+2].Text, want) {
			t.Errorf("AVS-001 step %d is %q, want %q (the card's order)", i+3, p.Steps[i+2].Text, want)
		}
	}
	b, _ := shipped(t).Book("avs-operator")
	if got := b.Policy.RoleIDs(); !slices.Equal(got, []string{"commander", "comms", "ops", "evidence"}) {
		t.Errorf("avs-operator roles %v, want the seed's IC, Comms, Ops, Evidence", got)
	}
}

// TestGM104RestoresWithAPreRestoreBackup: the seed's database restore is
// stop, pre-restore copy, restore (naming the copy), start, check; the
// restore may not be recorded before the stop and the copy.
func TestGM104RestoresWithAPreRestoreBackup(t *testing.T) {
	p, ok := shipped(t).Procedure("GM-104")
	if !ok || len(p.Steps) < 5 {
		t.Fatalf("GM-104: %v", p)
	}
	for i, want := range []string{"Stop the Network Authority", "pre-restore copy", "Restore the selected backup", "Start the Network Authority", "Check"} {
		if !strings.Contains(p.Steps[i].Text, want) {
			t.Errorf("GM-104 step %d is %q, want %q", i+1, p.Steps[i].Text, want)
		}
	}
	var restore string
	for _, cb := range p.Code {
		if strings.Contains(cb.Text, "managed restore") {
			restore = cb.Text
		}
	}
	for _, want := range []string{"genesis-mesh managed restore", "--db-path /var/lib/genesis-mesh/na.db", "--backup /backups/genesis-mesh-na-known-good.db", "--pre-restore-backup /backups/na-before-restore.db", "--yes"} {
		if !strings.Contains(restore, want) {
			t.Errorf("GM-104's restore command lacks %q:\n%s", want, restore)
		}
	}
	if got := p.Steps[2].Requires; !slices.Equal(got, []int{1, 2}) {
		t.Errorf("GM-104 step 3 (restore) is gated on %v, want [1 2]", got)
	}
}
