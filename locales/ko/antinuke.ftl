# AntiNuke: /antinuke, 사건 버튼과 알림. 대응 파일: locales/en-US/antinuke.ftl.

## 행동 종류, 처벌, 사건 상태

antinuke-class-channel-delete = 채널 삭제(스레드·게시물 포함)
antinuke-class-channel-create = 채널 생성
antinuke-class-role-delete = 역할 삭제
antinuke-class-role-create = 역할 생성
antinuke-class-ban = 차단
antinuke-class-kick = 추방
antinuke-class-prune = 멤버 정리
antinuke-class-webhook-create = 웹후크 생성
antinuke-class-permission-grant = 위험한 권한 부여
antinuke-class-bot-add = 봇 추가
antinuke-class-guild-update = 서버 설정 변경
antinuke-class-timeout = 타임아웃
antinuke-class-role-remove = 멤버 역할 회수
antinuke-class-permission-remove = 역할 권한 제거
antinuke-class-webhook-change = 웹후크 변경·삭제
antinuke-class-expression-delete = 이모지·스티커 삭제
antinuke-class-integration-delete = 연동 제거
antinuke-class-automod-change = AutoMod 규칙 삭제·비활성화
antinuke-class-message-bulk-delete = 메시지 일괄 삭제
antinuke-class-unban = 차단 해제
antinuke-class-trust-grant = 신뢰·허용 목록 역할 부여
antinuke-class-combined = 종합 점수 (모든 종류의 행동 점수 합)
antinuke-punishment-strip-roles = 모든 역할 회수
antinuke-punishment-quarantine = 모든 역할 회수 후 격리
antinuke-punishment-kick = 추방
antinuke-punishment-ban = 차단
antinuke-punishment-none = 없음 (처벌하지 못함)
antinuke-status-open = 진행 중
antinuke-status-restoring = 복구 중
antinuke-status-resolved = 해결됨
antinuke-status-false-positive = 오탐

## /antinuke status

antinuke-status-header = **AntiNuke**: { $state }
antinuke-status-response = 공격자 대응: { $punishment } · 잠금 { $lockdown } · 자동 복구 { $auto_revert }
antinuke-status-exempt = 집계하지 않음: 소유자, Umbra, 신뢰하는 사용자·역할(`/umbra settings trust`), 허용 목록 — 사용자 { $users }, 역할 { $roles } (허용 목록의 봇은 더 높은 기준으로 집계)
antinuke-status-incidents = 사건: 진행 중 { $open }건, 전체 { $total }건 (`/antinuke incidents`).
antinuke-status-value = 켜짐 — { $punishment }
antinuke-thresholds-title = **기준** (한 사람이 시간 안에 한 행동 수):
antinuke-threshold-line = • { $class }: { $window }초 안에 { $count }회{ $custom ->
    [yes] { " " }(이 서버 설정)
   *[other] {""}
}
antinuke-plan-limit = ⚠️ 요금제에 포함되지 않아 적용되지 않음: { $feature }.
antinuke-feature-detection = AntiNuke 감지
antinuke-feature-punishment = 선택한 처벌 (대신 모든 역할 회수를 사용)
antinuke-feature-lockdown = 잠금
antinuke-feature-auto-revert = 자동 복구
antinuke-feature-custom-thresholds = 이 서버의 기준 (기본값 사용)
antinuke-warn-audit-log = ⚠️ Umbra가 이 서버의 감사 로그를 볼 수 없습니다. Umbra 역할에 **감사 로그 보기** 권한을 주지 않으면 AntiNuke가 누가 무엇을 하는지 알 수 없습니다.

## /antinuke enable | disable | thresholds | whitelist | punishment | incidents

antinuke-enabled = AntiNuke가 **켜졌습니다**. 소유자, 신뢰하는 사용자·역할, 허용 목록이 아닌 누군가가 기준을 넘으면 즉시 멈추고({ $punishment }), 되돌릴 수 있는 DM을 보내 드립니다. Umbra 역할을 역할 목록 맨 위에 두세요: 자기보다 낮은 사람만 멈출 수 있습니다.
antinuke-disabled = AntiNuke가 **꺼졌습니다**. `/antinuke enable`로 다시 켤 때까지 아무것도 감시하지 않습니다.
antinuke-threshold-set = { $class }: 이제 { $window }초 안에 { $count }회면 사건이 됩니다.
antinuke-threshold-reset = { $class }: 기본값({ $window }초 안에 { $count }회)으로 돌아갔습니다.
antinuke-whitelist-list = AntiNuke 허용 목록: { $items }
antinuke-whitelist-added = { $target }을(를) AntiNuke 허용 목록에 추가했습니다. 이 대상의 행동은 집계하지 않습니다.
antinuke-whitelist-removed = { $target }을(를) AntiNuke 허용 목록에서 뺐습니다.
antinuke-whitelist-already = { $target }은(는) 이미 AntiNuke 허용 목록에 있습니다.
antinuke-whitelist-not-found = { $target }은(는) AntiNuke 허용 목록에 없습니다.
antinuke-punishment-set = 감지된 공격자 처리: { $punishment } (봇은 항상 추방) · 잠금 { $lockdown } · 자동 복구 { $auto_revert }
antinuke-incidents-title = **AntiNuke 사건** (최근 { $count }건):
antinuke-incidents-empty = 이 서버에는 AntiNuke 사건이 없습니다.
antinuke-incident-line = `{ $id }` { $when } — { $actor }: { $class } { $count }회 → { $punishment } — { $status } — 대상 { $destroyed }개

## 사건 버튼

antinuke-button-restore = 파괴된 것 복구
antinuke-button-false-positive = 오탐
antinuke-already-handled = 이 사건은 이미 { $status } 상태입니다.
antinuke-restore-not-ready = 공격 직전 스냅샷을 아직 준비하고 있습니다. 몇 초 뒤에 다시 눌러 주세요.
antinuke-action-failed = 실패했습니다: { $details }
antinuke-restore-started = 파괴된 것을 복구하고 있습니다 (작업 `{ $job }`, 대상 { $items }개, 되돌리는 차단·차단 해제 { $bans }건). 진행 상황과 결과를 여기에 알려 드립니다.
antinuke-false-positive-done = 오탐으로 처리했습니다: { $actor }에게 역할 { $roles }개를 돌려주었습니다. 다시 일어나지 않게 하려면 신뢰 사용자로 지정하거나(`/umbra settings trust`) `/antinuke whitelist`에 추가하세요.
antinuke-false-positive-kicked = 추방되었으므로 다시 초대해야 합니다.
antinuke-false-positive-cleanup = 정리한 것도 되돌렸습니다: 그 사람이 나눠 준 역할 { $grants }개를 돌려주었습니다{ $bots ->
    [0] .
   *[other] . 그 사람이 추가했다가 제거된 봇 { $bots }개는 다시 초대해야 합니다.
}

## 오류

error-antinuke-threshold-bounds = 기준의 횟수는 1에서 { $max_count } 사이, 시간은 1초에서 { $max_window }초 사이여야 합니다.
error-antinuke-threshold-needs-action = 기준을 바꿀 행동을 고르세요.
error-antinuke-plan-feature = 이 서버의 요금제에는 { $feature ->
    [detection] AntiNuke 감지가
    [punishment] 이 처벌이
    [lockdown] 잠금이
    [auto_revert] 자동 복구가
   *[custom_thresholds] 직접 정하는 기준이
} 포함되어 있지 않습니다. `/umbra status`에서 요금제를 확인하세요.
error-antinuke-quarantine-role = 격리 역할은 @everyone이나 봇·연동이 관리하는 역할일 수 없습니다.

## 알림

notify-incident-detected = 🚨 **AntiNuke가 { $guild }에서 테러를 막았습니다.** { $actor }님이 몇 초 만에 { $class ->
    [combined] 여러 종류의 파괴 행동을 했습니다 (합계 { $count }점)
   *[other] { $class ->
        [channel_delete] 채널 삭제
        [channel_create] 채널 생성
        [role_delete] 역할 삭제
        [role_create] 역할 생성
        [ban] 차단
        [kick] 추방
        [prune] 멤버 정리
        [webhook_create] 웹후크 생성
        [permission_grant] 위험한 권한 부여
        [bot_add] 봇 추가
        [timeout] 타임아웃
        [role_remove] 역할 회수
        [permission_remove] 권한 제거
        [webhook_change] 웹후크 변경
        [expression_delete] 이모지·스티커 삭제
        [integration_delete] 연동 제거
        [automod_change] AutoMod 규칙 삭제
        [message_bulk_delete] 메시지 일괄 삭제
        [unban] 차단 해제
        [trust_grant] 신뢰·허용 목록 역할 부여
       *[guild_update] 서버 설정 변경
    }을(를) { $count }회 했습니다
} (영향받은 대상 { $destroyed }개). { $outcome ->
    [strip_roles] 모든 역할을 회수했습니다.
    [quarantine] 모든 역할을 회수하고 격리했습니다.
    [kick] 추방했습니다.
    [ban] 차단했습니다.
    [hierarchy] Umbra가 멈추지 못했습니다: 그 사람의 가장 높은 역할 { $blocker }이(가) Umbra 역할보다 높습니다. 서버 설정 → 역할에서 Umbra 역할을 그 위로 옮기세요.
   *[failed] Umbra가 멈추지 못했습니다 (Discord가 거부). Umbra의 권한을 확인하세요.
}{ $cleaned ->
    [0] {""}
   *[other] { " " }그 사람이 나눠 준 역할과 추가한 봇 { $cleaned }개를 회수했습니다.
} 공격 직전의 서버 스냅샷을 저장했습니다. **파괴된 것 복구**를 누르면 되돌리고, **오탐**을 누르면 역할을 돌려줍니다.
notify-incident-resolved = ✅ **{ $guild }**의 AntiNuke 사건({ $actor }): { $by }님이 { $resolution ->
    [restored] 파괴된 것을 복구했습니다
   *[false_positive] 오탐으로 처리했습니다
}.

## 신뢰, 승인, 보호 상태

antinuke-trust-grant-line = • 신뢰·허용 목록 역할을 누군가에게 주기: 항상 1회 (소유자만 가능)
antinuke-change-requested = AntiNuke는 소유자만 바로 바꿀 수 있습니다. 변경 요청을 소유자에게 보냈습니다: 소유자가 승인하면 적용되고, { $hours }시간 안에 답하지 않으면 취소됩니다.
antinuke-status-pending = 다른 사람이 요청한 변경 { $count }건이 소유자의 승인을 기다리고 있습니다.
status-protection-degraded = ⚠️ **보호가 약해졌습니다**: { $reasons }
health-missing = Umbra에게 **{ $permission }** 권한이 없습니다
health-role-too-low = Umbra 역할이 멈춰야 할 수도 있는 위험 권한 보유 멤버 { $count }명보다 낮습니다({ $members }). 서버 설정 → 역할에서 Umbra 역할을 그 위로 옮기세요
permission-view-audit-log = 감사 로그 보기
permission-ban-members = 멤버 차단하기
permission-kick-members = 멤버 추방하기
permission-manage-roles = 역할 관리하기
protection-change-enabled = AntiNuke { $state }
protection-change-threshold = { $class } 기준을 { $window }초 안에 { $count }회로 변경
protection-change-threshold-reset = { $class } 기준을 기본값으로 되돌림
protection-change-punishment = 처벌을 다음으로 변경: { $punishment }
protection-change-quarantine-role = 격리 역할을 { $role }(으)로 변경
protection-change-lockdown = 잠금 { $state }
protection-change-auto-revert = 자동 복구 { $state }
protection-change-whitelist-add = { $target }을(를) AntiNuke 허용 목록에 추가
protection-change-whitelist-remove = { $target }을(를) AntiNuke 허용 목록에서 제거
protection-change-trust-add = { $target }을(를) 신뢰 대상으로 지정
protection-change-trust-remove = { $target }을(를) 신뢰 대상에서 해제
protection-change-trust-reset = 설정 초기화: 이제 신뢰하는 대상이 없습니다
protection-button-undo = 되돌리기
protection-button-approve = 승인
protection-button-refuse = 거절
guard-applied = 승인하여 적용했습니다: { $change }.
guard-refused = 거절했습니다. 아무것도 바뀌지 않았습니다 ({ $change }).
guard-lapsed = 이 요청은 기한이 지났습니다. 아무것도 바뀌지 않았습니다.
guard-unknown = 이미 처리된 요청입니다.
guard-undone = 되돌렸습니다: { $change }.
error-too-many-pending = 소유자 승인을 기다리는 변경이 이미 { $max }건 있습니다. 먼저 소유자에게 처리해 달라고 요청하세요.
notify-protection-changed = 🛡️ { $actor }님이 **{ $guild }**의 보호 설정을 바꿨습니다: { $change }. 원하지 않은 변경이면 **되돌리기**를 누르세요.
notify-change-requested = 🛡️ { $actor }님이 **{ $guild }**의 AntiNuke 설정을 바꾸려고 합니다: { $change }. { $hours }시간 안에 **승인**을 누르지 않으면 아무것도 바뀌지 않습니다.
notify-protection-degraded = ⚠️ **AntiNuke가 { $guild }을(를) 온전히 보호할 수 없습니다**: { $reasons }.
notify-protection-restored = ✅ AntiNuke가 다시 **{ $guild }**을(를) 온전히 보호할 수 있습니다.
notify-guild-removed = 👋 Umbra가 **{ $guild }**에서 제거되어 더 이상 보호하지 않습니다. 백업은 { $until }까지 보관되니, 그 전에 Umbra를 다시 추가하면 유지됩니다.
notify-snapshot-deleted = 🗑️ { $actor }님이 **{ $guild }**의 스냅샷 **{ $snapshot }**을(를) 삭제했습니다.
error-incident-pin-owner-only = 이 스냅샷은 AntiNuke 사건을 위해 보관 중입니다. 서버 소유자만 고정을 해제할 수 있습니다.

## 명령어 이름과 설명

cmd-antinuke = 안티뉴크
cmd-antinuke-desc = AntiNuke: 테러를 일어나는 순간 막습니다 (소유자와 신뢰하는 사용자)
cmd-antinuke-status = 상태
cmd-antinuke-status-desc = AntiNuke 설정, 기준, 사건 보기
cmd-antinuke-enable = 켜기
cmd-antinuke-enable-desc = AntiNuke 켜기
cmd-antinuke-disable = 끄기
cmd-antinuke-disable-desc = AntiNuke 끄기
cmd-antinuke-thresholds = 기준
cmd-antinuke-thresholds-desc = 기준을 보거나, 한 행동의 기준을 정하거나 되돌리기
cmd-antinuke-thresholds-opt-action = 행동
cmd-antinuke-thresholds-opt-action-desc = 행동 종류 (비우면 모든 기준 보기)
cmd-antinuke-thresholds-opt-action-choice-0 = 채널 삭제
cmd-antinuke-thresholds-opt-action-choice-1 = 채널 생성
cmd-antinuke-thresholds-opt-action-choice-2 = 역할 삭제
cmd-antinuke-thresholds-opt-action-choice-3 = 역할 생성
cmd-antinuke-thresholds-opt-action-choice-4 = 차단
cmd-antinuke-thresholds-opt-action-choice-5 = 추방
cmd-antinuke-thresholds-opt-action-choice-6 = 멤버 정리
cmd-antinuke-thresholds-opt-action-choice-7 = 웹후크 생성
cmd-antinuke-thresholds-opt-action-choice-8 = 위험한 권한 부여
cmd-antinuke-thresholds-opt-action-choice-9 = 봇 추가
cmd-antinuke-thresholds-opt-action-choice-10 = 서버 설정 변경
cmd-antinuke-thresholds-opt-action-choice-11 = 타임아웃
cmd-antinuke-thresholds-opt-action-choice-12 = 멤버 역할 회수
cmd-antinuke-thresholds-opt-action-choice-13 = 역할 권한 제거
cmd-antinuke-thresholds-opt-action-choice-14 = 웹후크 변경·삭제
cmd-antinuke-thresholds-opt-action-choice-15 = 이모지·스티커 삭제
cmd-antinuke-thresholds-opt-action-choice-16 = 연동 제거
cmd-antinuke-thresholds-opt-action-choice-17 = AutoMod 규칙 삭제·비활성화
cmd-antinuke-thresholds-opt-action-choice-18 = 메시지 일괄 삭제
cmd-antinuke-thresholds-opt-action-choice-19 = 차단 해제
cmd-antinuke-thresholds-opt-action-choice-20 = 종합 점수 (점)
cmd-antinuke-thresholds-opt-count = 횟수
cmd-antinuke-thresholds-opt-count-desc = 몇 번이면 사건이 되는지 (횟수와 시간을 비우면 기본값으로)
cmd-antinuke-thresholds-opt-window = 시간
cmd-antinuke-thresholds-opt-window-desc = 몇 초 안에
cmd-antinuke-whitelist = 허용목록
cmd-antinuke-whitelist-desc = AntiNuke가 집계하지 않는 사용자와 역할
cmd-antinuke-whitelist-opt-action = 작업
cmd-antinuke-whitelist-opt-action-desc = 추가, 제거 또는 목록
cmd-antinuke-whitelist-opt-action-choice-0 = 추가
cmd-antinuke-whitelist-opt-action-choice-1 = 제거
cmd-antinuke-whitelist-opt-action-choice-2 = 목록
cmd-antinuke-whitelist-opt-user = 사용자
cmd-antinuke-whitelist-opt-user-desc = 사용자 (예: 신뢰하는 봇)
cmd-antinuke-whitelist-opt-role = 역할
cmd-antinuke-whitelist-opt-role-desc = 역할
cmd-antinuke-punishment = 처벌
cmd-antinuke-punishment-desc = 감지된 공격자 처리, 잠금, 자동 복구
cmd-antinuke-punishment-opt-kind = 종류
cmd-antinuke-punishment-opt-kind-desc = 처벌 (봇은 항상 추방)
cmd-antinuke-punishment-opt-kind-choice-0 = 모든 역할 회수 (되돌릴 수 있음)
cmd-antinuke-punishment-opt-kind-choice-1 = 모든 역할 회수 후 격리 역할 부여
cmd-antinuke-punishment-opt-kind-choice-2 = 추방
cmd-antinuke-punishment-opt-kind-choice-3 = 차단
cmd-antinuke-punishment-opt-lockdown = 잠금
cmd-antinuke-punishment-opt-lockdown-desc = 역할의 위험한 권한을 빼고 초대를 멈추기도 함
cmd-antinuke-punishment-opt-auto-revert = 자동복구
cmd-antinuke-punishment-opt-auto-revert-desc = 기다리지 않고 파괴된 것을 복구
cmd-antinuke-punishment-opt-quarantine-role = 격리역할
cmd-antinuke-punishment-opt-quarantine-role-desc = 격리할 때 줄 역할 (비우면 Umbra가 만듦)
cmd-antinuke-incidents = 사건
cmd-antinuke-incidents-desc = 이 서버의 최근 AntiNuke 사건 목록
